// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { parseApiJson, parseSpansJson, prettyApiJson, quoteLongIntegers, stringifyApiJson } from './json';

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

  it('never touches digits inside strings, escapes included', () => {
    const text = '{"a":"12345678901234567890","b":"say \\"12345678901234567890\\"","c":[1234567890123456789]}';
    const v = parseApiJson<Record<string, any>>(text);
    expect(v.a).toBe('12345678901234567890');
    expect(v.b).toBe('say "12345678901234567890"');
    expect(v.c).toEqual([1234567890123456789n]);
  });

  it('returns the text unchanged when there is nothing to quote', () => {
    const text = '{"a":[1,2.5,-3],"b":"x"}';
    expect(quoteLongIntegers(text)).toBe(text);
  });

  it('throws on invalid JSON', () => {
    expect(() => parseApiJson('{"a":')).toThrow(SyntaxError);
  });

  it('parses a 20,000-span response quickly', () => {
    const span = '{"span":{"traceId":"ab","startTimeUnixNano":1732662000123456789,"endTimeUnixNano":1732662000123456999,"attributes":{"k":"v","n":1}},"externalFields":{"durationNano":210},"ingestionTimeUnixNano":1732662000999999999}';
    const text = `{"metadata":null,"spans":[${Array(20_000).fill(span).join(',')}]}`;
    const t = performance.now();
    const v = parseApiJson<{ spans: unknown[] }>(text);
    expect(v.spans).toHaveLength(20_000);
    expect(performance.now() - t).toBeLessThan(3000);
  });
});

describe('stringifyApiJson and prettyApiJson', () => {
  it('writes BigInt as bare integers', () => {
    expect(stringifyApiJson({ timeframe: { startTimeUnixNanoSec: 1732662000123456789n, endTimeUnixNanoSec: 0n }, n: 5 })).toBe(
      '{"timeframe":{"startTimeUnixNanoSec":1732662000123456789,"endTimeUnixNanoSec":0},"n":5}',
    );
  });

  it('prints a parsed span back with exact bare nanosecond numbers', () => {
    const text = '{"startTimeUnixNano":1732662000123456789,"name":"123","attributes":{"big":9007199254740993}}';
    const pretty = prettyApiJson(parseApiJson(text));
    expect(pretty).toContain('"startTimeUnixNano": 1732662000123456789');
    expect(pretty).toContain('"name": "123"');
    expect(pretty).toContain('"big": 9007199254740993');
    expect(JSON.parse(quoteLongIntegers(pretty.replace(/\s+/g, '')))).toBeTruthy();
  });
});

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
});
