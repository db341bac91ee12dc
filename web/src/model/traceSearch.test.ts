// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { spans } from '../test/spans';
import { buildSpanTree } from './spanTree';
import { searchTrace } from './traceSearch';

const tree = buildSpanTree(
  spans(
    { id: 'r', start: 0, end: 100, service: 'frontend', name: 'GET /checkout' },
    { id: 'a', parent: 'r', start: 1, end: 2, service: 'cart', name: 'GetCart', attrs: { 'rpc.method': 'GetCart', userId: 42 } },
    { id: 'b', parent: 'r', start: 3, end: 4, service: 'payment', name: 'Charge', events: [{ name: 'exception', at: 3.5, attrs: { 'exception.message': 'card declined' } }] },
    { id: 'c', parent: 'r', start: 5, end: 6, service: 'cart', name: 'redis GET', resource: { 'host.name': 'node-7' } },
  ),
);

describe('searchTrace', () => {
  it('matches names and services case-insensitively, in waterfall order', () => {
    expect(searchTrace(tree, 'cart')).toEqual(['a', 'c']);
    expect(searchTrace(tree, 'get')).toEqual(['r', 'a', 'c']);
    expect(searchTrace(tree, 'PAYMENT')).toEqual(['b']);
  });
  it('matches attribute values, event text and resource attributes', () => {
    expect(searchTrace(tree, 'declined')).toEqual(['b']);
    expect(searchTrace(tree, 'node-7')).toEqual(['c']);
    expect(searchTrace(tree, '42')).toEqual(['a']);
  });
  it('supports key=value', () => {
    expect(searchTrace(tree, 'userId=42')).toEqual(['a']);
    expect(searchTrace(tree, 'service=cart')).toEqual(['a', 'c']);
    expect(searchTrace(tree, 'host.name=node')).toEqual(['c']);
  });
  it('finds nothing for blank or unknown text', () => {
    expect(searchTrace(tree, '   ')).toEqual([]);
    expect(searchTrace(tree, 'zzz')).toEqual([]);
  });
});
