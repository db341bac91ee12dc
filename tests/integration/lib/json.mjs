// JSON that keeps 64-bit integers exact.
//
// The v1 API writes nanosecond timestamps (and int64 attributes) as plain JSON numbers, which
// exceed 2^53; JSON.parse would round them. parseJson() turns every integer literal with more than
// 15 digits into a BigInt (shorter integers and all non-integers stay Numbers), and stringifyJson()
// writes BigInt values as bare JSON integers so requests can carry exact u64 values.

const BIG_MARK = '\u0000big:';
const BIG_MARK_ESCAPED = '\\u0000big:'; // the same, as JSON string source

// Rewrites every integer literal longer than 15 digits outside strings as a marked string. A
// linear scan (strings are skipped with indexOf), since trace responses run to tens of MB.
function markLongIntegers(text) {
  const parts = [];
  let last = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Skip a string: find the closing quote that is not escaped.
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          j = n;
          break;
        }
        let k = q - 1;
        while (text.charCodeAt(k) === 92) k--;
        if ((q - 1 - k) % 2 === 0) {
          j = q;
          break;
        }
        j = q + 1;
      }
      i = j + 1;
      continue;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      const digitsStart = c === 45 ? i + 1 : i;
      let j = digitsStart;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d < 48 || d > 57) break;
        j++;
      }
      const next = j < n ? text.charCodeAt(j) : 0;
      const integral = next !== 46 && next !== 101 && next !== 69; // . e E
      if (integral && j - digitsStart > 15) {
        parts.push(text.slice(last, i), `"${BIG_MARK_ESCAPED}${text.slice(i, j)}"`);
        last = j;
      } else {
        while (j < n) {
          const d = text.charCodeAt(j);
          if (!((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45)) break;
          j++;
        }
      }
      i = j;
      continue;
    }
    i++;
  }
  if (parts.length === 0) return text;
  parts.push(text.slice(last));
  return parts.join('');
}


// Replaces marked strings by BigInt in place (cheaper than a JSON.parse reviver on large bodies).
function unmark(value) {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (typeof v === 'string') {
        if (v.charCodeAt(0) === 0 && v.startsWith(BIG_MARK)) value[i] = BigInt(v.slice(BIG_MARK.length));
      } else if (typeof v === 'object') {
        unmark(v);
      }
    }
    return value;
  }
  for (const k in value) {
    const v = value[k];
    if (typeof v === 'string') {
      if (v.charCodeAt(0) === 0 && v.startsWith(BIG_MARK)) value[k] = BigInt(v.slice(BIG_MARK.length));
    } else if (typeof v === 'object') {
      unmark(v);
    }
  }
  return value;
}

export function parseJson(text) {
  const marked = markLongIntegers(text);
  if (marked === text) return JSON.parse(text);
  const value = JSON.parse(marked);
  return typeof value === 'string' && value.startsWith(BIG_MARK)
    ? BigInt(value.slice(BIG_MARK.length))
    : unmark(value);
}

export function stringifyJson(value) {
  const text = JSON.stringify(value, (_key, v) =>
    typeof v === 'bigint' ? `${BIG_MARK}${v.toString()}` : v,
  );
  return text.replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

// Exact integer view of a JSON value that may arrive as Number, BigInt or decimal string.
export function big(value) {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not an exact integer: ${value}`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`not an integer: ${JSON.stringify(String(value))} (${typeof value})`);
}
