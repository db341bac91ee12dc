import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TagInfo } from '../../../api/types';
import { defaultSearchState, type SearchState } from '../../../model/searchState';
import type { UpdateSearch } from '../useSearchState';
import { FilterBuilder } from './FilterBuilder';

const TAGS: TagInfo[] = [
  { name: 'span.name', type: 'Str' },
  { name: 'span.attributes.http.route', type: 'Str' },
  { name: 'span.attributes.http.response.status_code', type: 'Int' },
];

function Harness({ initial, onState }: { initial: SearchState; onState: (s: SearchState) => void }) {
  const [state, setState] = useState(initial);
  const update: UpdateSearch = (fn) =>
    setState((s) => {
      const next = fn(s);
      onState(next);
      return next;
    });
  const tf = { startTimeUnixNanoSec: 0n, endTimeUnixNanoSec: 0n };
  return (
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <FilterBuilder state={state} update={update} tags={TAGS} timeframe={tf} />
    </QueryClientProvider>
  );
}

describe('FilterBuilder', () => {
  beforeEach(() => {
    localStorage.clear();
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('{"metadata":null,"values":[{"value":"/checkout","count":7}],"totalDistinctValues":1}', { status: 200 })),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  const start: SearchState = {
    ...defaultSearchState(),
    filters: [
      { key: 'span.name', operator: 'equals', value: 'GET /' },
      { key: 'span.attributes.http.response.status_code', operator: 'gte', value: 500 },
    ],
  };

  it('shows one chip per filter and removes one with ×', () => {
    const onState = vi.fn();
    render(<Harness initial={start} onState={onState} />);
    const chips = screen.getAllByTestId('filter-chip');
    expect(chips.map((c) => c.textContent)).toEqual(['Span name = "GET /"×', 'http.response.status_code ≥ 500×']);
    fireEvent.click(screen.getByLabelText('Remove filter span.name = "GET /"'));
    expect(onState).toHaveBeenLastCalledWith(expect.objectContaining({ filters: [start.filters[1]] }));
    expect(screen.getAllByTestId('filter-chip')).toHaveLength(1);
  });

  it('edits a chip in place and offers the key type\'s operators', async () => {
    const onState = vi.fn();
    render(<Harness initial={start} onState={onState} />);
    fireEvent.click(screen.getAllByTestId('filter-chip')[1].querySelector('.chip-text')!);
    const op = screen.getByTestId('filter-operator') as HTMLSelectElement;
    expect([...op.options].map((o) => o.value)).toEqual(['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'exists', 'not_exists']);
    expect(op.value).toBe('gte');
    expect((screen.getByTestId('filter-value') as HTMLInputElement).value).toBe('500');
    fireEvent.change(op, { target: { value: 'in' } });
    fireEvent.change(screen.getByTestId('filter-value'), { target: { value: '500, 503' } });
    fireEvent.click(screen.getByTestId('filter-apply'));
    await waitFor(() =>
      expect(onState).toHaveBeenLastCalledWith(
        expect.objectContaining({ filters: [start.filters[0], { key: 'span.attributes.http.response.status_code', operator: 'in', value: [500, 503] }] }),
      ),
    );
  });

  it('rejects a value that does not fit the key type', () => {
    render(<Harness initial={start} onState={vi.fn()} />);
    fireEvent.click(screen.getAllByTestId('filter-chip')[1].querySelector('.chip-text')!);
    fireEvent.change(screen.getByTestId('filter-value'), { target: { value: 'lots' } });
    fireEvent.click(screen.getByTestId('filter-apply'));
    expect(screen.getByRole('alert').textContent).toBe('"lots" is not a number');
  });

  it('adds a filter from key and value suggestions, then clears all', async () => {
    const onState = vi.fn();
    render(<Harness initial={defaultSearchState()} onState={onState} />);
    fireEvent.click(screen.getByTestId('add-filter'));
    const key = screen.getByTestId('filter-key');
    fireEvent.focus(key);
    fireEvent.change(key, { target: { value: 'route' } });
    fireEvent.mouseDown(screen.getByText('http.route').closest('li')!);
    const value = screen.getByTestId('filter-value');
    fireEvent.focus(value);
    fireEvent.change(value, { target: { value: '/ch' } });
    const option = await screen.findByText('/checkout');
    expect(option.closest('li')!.textContent).toBe('/checkout7');
    fireEvent.mouseDown(option.closest('li')!);
    fireEvent.click(screen.getByTestId('filter-apply'));
    expect(onState).toHaveBeenLastCalledWith(
      expect.objectContaining({ filters: [{ key: 'span.attributes.http.route', operator: 'equals', value: '/checkout' }] }),
    );
    // The key is remembered as recently used.
    expect(JSON.parse(localStorage.getItem('teletrace.recentKeys')!)).toEqual(['span.attributes.http.route']);
    fireEvent.click(screen.getByTestId('clear-all'));
    expect(onState).toHaveBeenLastCalledWith(expect.objectContaining({ filters: [] }));
    expect(screen.queryAllByTestId('filter-chip')).toHaveLength(0);
  });
});
