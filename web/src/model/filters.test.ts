// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { OPERATORS } from '../api/types';
import { keyTitle, operatorsFor, parseFilterValue, splitKey, suggestKeys, suggestionFooter } from './filters';

describe('operatorsFor', () => {
  it('offers all twelve operators across the types, equals and not_equals everywhere they apply', () => {
    const all = new Set([...operatorsFor('Str'), ...operatorsFor('Int'), ...operatorsFor('Bool')]);
    expect([...all].sort()).toEqual([...OPERATORS].sort());
    for (const t of ['Str', 'Int', 'Double', 'Bool'] as const) {
      expect(operatorsFor(t)).toContain('equals');
      expect(operatorsFor(t)).toContain('not_equals');
    }
    expect(operatorsFor('Int')).toContain('gte');
    expect(operatorsFor('Str')).not.toContain('gt');
    expect(operatorsFor(undefined)).toEqual(operatorsFor('Str'));
  });
});

describe('parseFilterValue', () => {
  it('types values by the key type', () => {
    expect(parseFilterValue('500', 'Int', 'equals')).toEqual({ value: 500 });
    expect(parseFilterValue('0.25', 'Double', 'gt')).toEqual({ value: 0.25 });
    expect(parseFilterValue('500', 'Str', 'equals')).toEqual({ value: '500' });
    expect(parseFilterValue('true', 'Bool', 'equals')).toEqual({ value: true });
    expect(parseFilterValue('x', 'Int', 'equals')).toEqual({ error: '"x" is not a number' });
    expect(parseFilterValue('maybe', 'Bool', 'equals')).toEqual({ error: 'enter true or false' });
  });

  it('splits lists for in / not_in and needs no value for exists', () => {
    expect(parseFilterValue('500, 503,', 'Int', 'in')).toEqual({ value: [500, 503] });
    expect(parseFilterValue('a,b', undefined, 'not_in')).toEqual({ value: ['a', 'b'] });
    expect(parseFilterValue(' , ', 'Str', 'in')).toHaveProperty('error');
    expect(parseFilterValue('whatever', 'Str', 'exists')).toEqual({});
  });

  it('makes comparisons numeric even on untyped keys', () => {
    expect(parseFilterValue('100', undefined, 'lt')).toEqual({ value: 100 });
    expect(parseFilterValue('abc', 'Str', 'gte')).toEqual({ error: 'comparisons need a number' });
  });
});

describe('keys', () => {
  it('splits levels and titles keys', () => {
    expect(splitKey('span.events.attributes.exception.type')).toEqual({ level: 'event', name: 'exception.type' });
    expect(splitKey('span.attributes.http.route')).toEqual({ level: 'span', name: 'http.route' });
    expect(splitKey('span.name')).toEqual({ level: 'intrinsic', name: 'span.name' });
    expect(keyTitle('resource.attributes.service.name')).toBe('Service');
    expect(keyTitle('span.attributes.http.route')).toBe('http.route');
  });

  it('suggests recent keys first, then matches in order', () => {
    const all = ['span.name', 'span.attributes.http.route', 'span.attributes.http.method', 'resource.attributes.host.name'];
    expect(suggestKeys(all, ['span.attributes.http.method', 'gone.key'], 'http')).toEqual(['span.attributes.http.method', 'span.attributes.http.route']);
    expect(suggestKeys(all, [], 'NAME')).toEqual(['span.name', 'resource.attributes.host.name']);
    expect(suggestKeys(all, [], '', 2)).toHaveLength(2);
  });
});

describe('suggestionFooter', () => {
  it('says how many values are shown of how many', () => {
    expect(suggestionFooter(25, 289830, false, 300)).toBe('25 of 289,830 values; type to narrow');
  });
  it('is absent when every value is shown', () => {
    expect(suggestionFooter(3, 3, false, 300)).toBeUndefined();
  });
  it('says the values are those found within the budget when it ran out', () => {
    expect(suggestionFooter(25, 4000, true, 300)).toBe('25 of the values found in 0.3 s (not every span was read); type to narrow');
    expect(suggestionFooter(0, 0, true, 1500)).toBe('0 of the values found in 1.5 s (not every span was read); type to narrow');
  });
});
