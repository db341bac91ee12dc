// A value that follows another once it has stopped changing for a while: typing fast in a box
// whose every value costs a lot (finding matches in a 20,000-span trace) pays for the last only.
import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * `value` as it was when it last stayed unchanged for `delayMs`; the first render returns `value`
 * itself. `flush()`, for event handlers (an Enter that should not wait), makes the latest
 * rendered value the result at once; it is the same function on every render.
 */
export function useDebouncedValue<T>(value: T, delayMs: number): [T, () => void] {
  const [settled, setSettled] = useState(value);
  const latest = useRef(value);
  useEffect(() => {
    latest.current = value;
    if (Object.is(value, settled)) return;
    const t = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(t);
  }, [value, settled, delayMs]);
  const flush = useCallback(() => setSettled(latest.current), []);
  return [settled, flush];
}
