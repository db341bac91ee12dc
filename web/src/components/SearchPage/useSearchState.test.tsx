import { act, render, screen } from '@testing-library/react';
import { MemoryRouter, useLocation, useNavigate } from 'react-router';
import { describe, expect, it } from 'vitest';
import { useSearchState, type UpdateSearch } from './useSearchState';

let update: UpdateSearch;
let navigate: ReturnType<typeof useNavigate>;

function Probe() {
  const [state, u] = useSearchState();
  update = u;
  navigate = useNavigate();
  const location = useLocation();
  return (
    <>
      <div data-testid="search">{location.search}</div>
      <div data-testid="state">{JSON.stringify({ range: state.range, filters: state.filters, live: state.live, sort: state.sort })}</div>
    </>
  );
}

describe('useSearchState', () => {
  it('reads the state from the URL, writes changes back, and back/forward restore it', () => {
    render(
      <MemoryRouter initialEntries={['/?range=6h&filter=%5B%22span.name%22%2C%22equals%22%2C%22GET%22%5D']}>
        <Probe />
      </MemoryRouter>,
    );
    expect(JSON.parse(screen.getByTestId('state').textContent!)).toEqual({
      range: { kind: 'relative', preset: '6h' },
      filters: [{ key: 'span.name', operator: 'equals', value: 'GET' }],
      live: false,
      sort: { by: 'start', ascending: false },
    });
    act(() => update((s) => ({ ...s, sort: { by: 'duration', ascending: true }, live: true })));
    const search = new URLSearchParams(screen.getByTestId('search').textContent!);
    expect(search.get('sort')).toBe('duration');
    expect(search.get('order')).toBe('asc');
    expect(search.get('live')).toBe('1');
    expect(search.get('range')).toBe('6h');
    expect(JSON.parse(screen.getByTestId('state').textContent!).sort).toEqual({ by: 'duration', ascending: true });
    act(() => navigate(-1));
    expect(JSON.parse(screen.getByTestId('state').textContent!).sort).toEqual({ by: 'start', ascending: false });
    act(() => navigate(1));
    expect(JSON.parse(screen.getByTestId('state').textContent!).live).toBe(true);
  });
});
