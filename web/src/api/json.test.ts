// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { parseApiJson, parseSpansJson, prettyApiJson, stringifyApiJson, tagJson } from './json';

/** The string the old parser used as its private long-integer marker (issue 9, point 7). */
const OLD_MARKER = '\u0000int:';

/** Every control character, as JSON.stringify escapes them (short escapes and \u00XX). */
const CONTROLS = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join('');

/** Strings that must come back exactly as they were, whatever the parser does with integers. */
const NASTY: string[] = [
  OLD_MARKER,
  `${OLD_MARKER}12345678901234567890`,
  `${OLD_MARKER}-5`,
  `${OLD_MARKER}x`,
  '\u0000',
  '\u0000i',
  '\u0000i12345678901234567890',
  '\u0000s',
  '\u0000s\u0000i1',
  '\u0000\u0000int:1',
  `say "${OLD_MARKER}1"`,
  CONTROLS,
  `\u0000${CONTROLS}`,
  '\ud800',
  '\udfff',
  '\u0000\ud800x\udc00',
  '\udc00\ud800',
  '12345678901234567890',
  '',
];

describe('parseApiJson', () => {
  it('keeps nanosecond values exact as strings, and other long integers as BigInt', () => {
    const text =
      '{"span":{"startTimeUnixNano":1732662000123456789,"endTimeUnixNano":0,"attributes":{"big":9007199254740993,"small":42,"f":1.5,"neg":-9223372036854775808,"exp":1e21}},' +
      '"externalFields":{"durationNano":1500},"events":[{"timeUnixNano":1732662000123456790}]}';
    const v = parseApiJson<Record<string, any>>(text);
    expect(v.span.startTimeUnixNano).toBe('1732662000123456789');
    expect(v.span.endTimeUnixNano).toBe('0');
    expect(v.externalFields.durationNano).toBe('1500');
    expect(v.events[0].timeUnixNano).toBe('1732662000123456790');
    expect(v.span.attributes.big).toBe(9007199254740993n);
    expect(v.span.attributes.neg).toBe(-9223372036854775808n);
    expect(v.span.attributes.small).toBe(42);
    expect(v.span.attributes.f).toBe(1.5);
    expect(v.span.attributes.exp).toBe(1e21);
  });

  it('keeps the extreme 64-bit integers exact', () => {
    const v = parseApiJson<Record<string, any>>(
      '{"u":18446744073709551615,"i":-9223372036854775808,"p":9223372036854775807,"s16":1000000000000000,"s15":999999999999999}',
    );
    expect(v.u).toBe(18446744073709551615n);
    expect(v.i).toBe(-9223372036854775808n);
    expect(v.p).toBe(9223372036854775807n);
    expect(v.s16).toBe(1000000000000000n);
    expect(v.s15).toBe(999999999999999);
  });

  it('never touches digits inside strings, escapes included', () => {
    const text = '{"a":"12345678901234567890","b":"say \\"12345678901234567890\\"","c":[1234567890123456789],"d":"\\\\"}';
    const v = parseApiJson<Record<string, any>>(text);
    expect(v.a).toBe('12345678901234567890');
    expect(v.b).toBe('say "12345678901234567890"');
    expect(v.c).toEqual([1234567890123456789n]);
    expect(v.d).toBe('\\');
  });

  it('gives back the attack value, a string starting with the old marker, as that string (issue 9 point 7)', () => {
    const text = '{"attributes":{"evil":"\\u0000int:","evil2":"\\u0000int:12345678901234567890"},"n":12345678901234567890}';
    const v = parseApiJson<Record<string, any>>(text);
    expect(v.attributes.evil).toBe(OLD_MARKER);
    expect(v.attributes.evil2).toBe(`${OLD_MARKER}12345678901234567890`);
    expect(v.n).toBe(12345678901234567890n);
  });

  it('reads escapes written by hand: upper-case hex, every short escape, lone surrogates', () => {
    const text =
      '{"a":"\\u0000int:\\u001F\\b\\f\\n\\r\\t\\"\\\\\\/","b":"\\ud800\\u0000int:1","c":"\\u0000\\uDFFF","d":["\\u0000i1","\\u0000s"]}';
    expect(parseApiJson(text)).toEqual({
      a: '\u0000int:\u001f\b\f\n\r\t"\\/',
      b: '\ud800\u0000int:1',
      c: '\u0000\udfff',
      d: ['\u0000i1', '\u0000s'],
    });
    expect(parseSpansJson(text)).toEqual(JSON.parse(text));
  });

  it('round-trips every nasty string as a value, an array element and an object key', () => {
    for (const s of NASTY) {
      const v = parseApiJson<Record<string, any>>(JSON.stringify({ v: s, a: [s, 5], [s]: s, timeUnixNano: s }));
      expect(v.v, JSON.stringify(s)).toBe(s);
      expect(v.a, JSON.stringify(s)).toEqual([s, 5]);
      expect(v[s], JSON.stringify(s)).toBe(s);
      expect(v.timeUnixNano, JSON.stringify(s)).toBe(s);
    }
    // The same with the integer written as a bare literal (JSON.stringify wrote a rounded double).
    for (const s of NASTY) {
      const text = `{"v":${JSON.stringify(s)},"n":12345678901234567890,"w" : ${JSON.stringify(s)} }`;
      const v = parseApiJson<Record<string, any>>(text);
      expect(v, JSON.stringify(s)).toEqual({ v: s, n: 12345678901234567890n, w: s });
    }
  });

  it('agrees with JSON.parse on random strings of control characters, surrogates and NULs', () => {
    // A fixed-seed generator: the same cases on every run.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ['\u0000', 'i', 's', 'n', 't', ':', '1', '"', '\\', '\ud800', '\udc00', '\u001f', '\n', 'é', '😀'];
    for (let k = 0; k < 2000; k++) {
      let s = '';
      const len = rand(8);
      for (let j = 0; j < len; j++) s += alphabet[rand(alphabet.length)];
      const text = JSON.stringify({ k: s, l: [s, { m: s }] });
      expect(parseApiJson(text)).toEqual(JSON.parse(text));
      expect(parseApiJson(stringifyApiJson({ s, b: 98765432109876543210n }))).toEqual({ s, b: 98765432109876543210n });
    }
  });

  it('returns the text unchanged when there is nothing to tag', () => {
    const text = '{"a":[1,2.5,-3],"b":"x","c":"\\u0001\\u0000"}';
    expect(tagJson(text)).toEqual({ text, ints: 0, strings: 0 });
  });

  it('counts what it tagged', () => {
    const t = tagJson('{"a":"\\u0000x","\\u0000k":12345678901234567890,"b":["\\u0000", 1]}');
    expect(t.ints).toBe(1);
    expect(t.strings).toBe(2);
  });

  it('throws on invalid JSON, and does not make an invalid number valid', () => {
    expect(() => parseApiJson('{"a":')).toThrow(SyntaxError);
    expect(() => parseApiJson('{"a":01234567890123456789}')).toThrow(SyntaxError);
    expect(() => parseApiJson('{"a":"\\u0000')).toThrow(SyntaxError);
    expect(() => parseSpansJson('{"spans":[{"a":"\\u0000x}]}')).toThrow(SyntaxError);
  });

  it('scans strings full of escaped quotes and backslashes in linear time', () => {
    const s = '"\\\\\u0000'.repeat(1_000_000); // quote, 2 backslashes, NUL: 20 MB of escapes as JSON
    const text = JSON.stringify({ a: s, b: `\u0000${s}`, n: 12345678901234567890n.toString() }).replace(/"n":"(\d+)"/, '"n":$1');
    const t = performance.now();
    const v = parseApiJson<Record<string, unknown>>(text);
    expect(v.a === s).toBe(true);
    expect(v.b === `\u0000${s}`).toBe(true);
    expect(v.n).toBe(12345678901234567890n);
    // Linear is well under a second; rescanning the escapes per quote would be hours.
    expect(performance.now() - t).toBeLessThan(20_000);
  }, 60_000);

  it('parses a 20,000-span response quickly', () => {
    const span = '{"span":{"traceId":"ab","startTimeUnixNano":1732662000123456789,"endTimeUnixNano":1732662000123456999,"attributes":{"k":"v","n":1}},"externalFields":{"durationNano":210},"ingestionTimeUnixNano":1732662000999999999}';
    const text = `{"metadata":null,"spans":[${Array(20_000).fill(span).join(',')}]}`;
    const t = performance.now();
    const v = parseApiJson<{ spans: unknown[] }>(text);
    expect(v.spans).toHaveLength(20_000);
    expect(performance.now() - t).toBeLessThan(10_000);
  }, 60_000);
});

describe('stringifyApiJson and prettyApiJson', () => {
  it('writes BigInt as bare integers', () => {
    expect(stringifyApiJson({ timeframe: { startTimeUnixNanoSec: 1732662000123456789n, endTimeUnixNanoSec: 0n }, n: 5 })).toBe(
      '{"timeframe":{"startTimeUnixNanoSec":1732662000123456789,"endTimeUnixNanoSec":0},"n":5}',
    );
  });

  it('writes a string that looks like the old marker as that string, not as a number', () => {
    const text = stringifyApiJson({ filters: [{ value: `${OLD_MARKER}5` }, { value: '\u0000i7' }] });
    expect(text).toBe('{"filters":[{"value":"\\u0000int:5"},{"value":"\\u0000i7"}]}');
    expect(prettyApiJson({ a: `${OLD_MARKER}5` })).toBe('{\n  "a": "\\u0000int:5"\n}');
  });

  it('writes what JSON.stringify writes when there is no BigInt', () => {
    const value = {
      s: NASTY,
      n: [0, -0, 1.5, 1e21, NaN, Infinity],
      b: [true, false, null],
      u: undefined,
      f: () => 1,
      au: [undefined, () => 1],
      e: {},
      ea: [],
      nested: { x: { y: [{ z: 'w' }] } },
      d: new Date(0),
    };
    expect(stringifyApiJson(value)).toBe(JSON.stringify(value));
    expect(stringifyApiJson(value, 2)).toBe(JSON.stringify(value, null, 2));
    expect(prettyApiJson(value)).toBe(JSON.stringify(value, null, 2));
  });

  it('prints a parsed span back with exact bare nanosecond numbers', () => {
    const text = '{"startTimeUnixNano":1732662000123456789,"name":"123","attributes":{"big":9007199254740993,"evil":"\\u0000int:1"}}';
    const pretty = prettyApiJson(parseApiJson(text));
    expect(pretty).toContain('"startTimeUnixNano": 1732662000123456789');
    expect(pretty).toContain('"name": "123"');
    expect(pretty).toContain('"big": 9007199254740993');
    expect(pretty).toContain('"evil": "\\u0000int:1"');
    expect(parseApiJson(pretty)).toEqual(parseApiJson(text));
  });
});

/** A realistic span response body of `count` spans, every one with the attack string in it. */
function spansBody(count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = i.toString(16).padStart(16, '0');
    parts.push(
      `{"resource":{"attributes":{"service.name":"svc-${i % 7}","host.name":"host-${i % 13}"}},` +
        `"scope":{"name":"lib","version":"1.0","attributes":{}},` +
        `"span":{"traceId":"0123456789abcdef0123456789abcdef","spanId":"${id}","parentSpanId":"${i ? '0000000000000000' : ''}",` +
        `"name":"operation number ${i % 50}","kind":"SPAN_KIND_SERVER","startTimeUnixNano":${1732662000123456789n + BigInt(i)},` +
        `"endTimeUnixNano":${1732662000123456789n + BigInt(i) + 1000n},"attributes":{"http.method":"GET","http.route":"/api/v1/items/{id}",` +
        `"http.status_code":200,"big":${9007199254740993n + BigInt(i)},"evil":"\\u0000int:${i}","arr":[1,"\\u0000",12345678901234567890]},` +
        `"events":[{"timeUnixNano":${1732662000123456800n + BigInt(i)},"name":"\\u0000int:event","attributes":{"m":"message text here"}}],` +
        `"links":[],"status":{"message":"","code":"Ok"},"traceState":"","droppedAttributesCount":0},` +
        `"externalFields":{"durationNano":1000},"ingestionTimeUnixNano":1732662000999999999}`,
    );
  }
  return `{"metadata":{"nextToken":""},"spans":[${parts.join(',')}]}`;
}

describe('parseSpansJson', () => {
  it('gives the same result as parseApiJson for span responses', () => {
    const text =
      '{"metadata":{"nextToken":"abc"},"spans":[{"resource":{"attributes":{"service.name":"a","big":12345678901234567890}},' +
      '"scope":{"name":"s","version":"","attributes":{}},"span":{"traceId":"t","spanId":"s","startTimeUnixNano":1732662000123456789,' +
      '"endTimeUnixNano":1732662000123456799,"attributes":{"arr":[1,98765432109876543210,"x"],"map":{"k":11111111111111111111}},' +
      '"events":[{"timeUnixNano":1732662000123456790,"name":"e","attributes":{"n":5}}],"links":[{"traceId":"t2","spanId":"s2","attributes":{"b":99999999999999999}}],' +
      '"status":{"message":"","code":"Ok"}},"externalFields":{"durationNano":10},"ingestionTimeUnixNano":1732662000999999999}]}';
    expect(parseSpansJson(text)).toEqual(parseApiJson(text));
    const v = parseSpansJson<{ spans: any[] }>(text);
    expect(v.spans[0].externalFields.durationNano).toBe('10');
    expect(v.spans[0].span.attributes.arr[1]).toBe(98765432109876543210n);
    expect(v.spans[0].span.links[0].attributes.b).toBe(99999999999999999n);
  });

  it('gives back nasty strings in every field of a span, exactly as parseApiJson does', () => {
    for (const s of NASTY) {
      const q = JSON.stringify(s);
      const text =
        `{"metadata":{"nextToken":${q}},"spans":[{"resource":{"attributes":{"service.name":${q},${q}:${q}}},` +
        `"scope":{"name":${q},"version":"","attributes":{"x":[${q},{"y":${q}}]}},"span":{"traceId":"t","spanId":"s","name":${q},` +
        `"startTimeUnixNano":1732662000123456789,"endTimeUnixNano":1732662000123456799,"attributes":{"evil":${q},"big":12345678901234567890,"arr":[${q},98765432109876543210]},` +
        `"events":[{"timeUnixNano":1732662000123456790,"name":${q},"attributes":{"n":${q}}}],"links":[{"traceId":"t2","spanId":"s2","traceState":${q},"attributes":{"b":${q}}}],` +
        `"status":{"message":${q},"code":"Ok"}},"externalFields":{"durationNano":10},"ingestionTimeUnixNano":1732662000999999999}]}`;
      const v = parseSpansJson<{ metadata: any; spans: any[] }>(text);
      expect(v, q).toEqual(parseApiJson(text));
      const sp = v.spans[0];
      expect(v.metadata.nextToken).toBe(s);
      expect(sp.resource.attributes).toEqual({ 'service.name': s, [s]: s });
      expect(sp.scope.name).toBe(s);
      expect(sp.scope.attributes.x).toEqual([s, { y: s }]);
      expect(sp.span.name).toBe(s);
      expect(sp.span.attributes).toEqual({ evil: s, big: 12345678901234567890n, arr: [s, 98765432109876543210n] });
      expect(sp.span.startTimeUnixNano).toBe('1732662000123456789');
      expect(sp.span.events[0]).toEqual({ timeUnixNano: '1732662000123456790', name: s, attributes: { n: s } });
      expect(sp.span.links[0].traceState).toBe(s);
      expect(sp.span.links[0].attributes.b).toBe(s);
      expect(sp.span.status.message).toBe(s);
    }
  });

  it('parses a 100,000-span response (tens of MB, every span with the attack string) in linear time', () => {
    const text = spansBody(100_000);
    expect(text.length).toBeGreaterThan(60_000_000);
    const t = performance.now();
    const v = parseSpansJson<{ spans: any[] }>(text);
    const ms = performance.now() - t;
    expect(v.spans).toHaveLength(100_000);
    const last = v.spans[99_999].span;
    expect(last.attributes.evil).toBe(`${OLD_MARKER}99999`);
    expect(last.attributes.big).toBe(9007199254740993n + 99_999n);
    expect(last.attributes.arr).toEqual([1, '\u0000', 12345678901234567890n]);
    expect(last.endTimeUnixNano).toBe(String(1732662000123456789n + 99_999n + 1000n));
    expect(last.events[0].name).toBe(`${OLD_MARKER}event`);
    // Linear work is about a second here; a quadratic pass over 7e7 characters would take hours.
    // The bound is generous for a shared, busy machine.
    expect(ms).toBeLessThan(30_000);
  }, 120_000);
});
