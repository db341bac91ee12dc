import { fireEvent, render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { defaultSearchState } from '../../../model/searchState';
import { spans, TRACE } from '../../../test/spans';
import { ResultsTable } from './ResultsTable';

function renderTable(stale: boolean) {
  const rows = spans({ id: '00000000000000a1', start: 0, end: 5 }, { id: '00000000000000a2', start: 1, end: 2 });
  render(
    <MemoryRouter initialEntries={['/']}>
      <Routes>
        <Route
          path="/"
          element={
            <ResultsTable
              rows={rows}
              state={defaultSearchState()}
              onSort={() => {}}
              onRemoveColumn={() => {}}
              hasNextPage={false}
              isFetchingNextPage={false}
              fetchNextPage={() => {}}
              freshIds={new Set()}
              stale={stale}
            />
          }
        />
        <Route path="/trace/:traceId" element={<div data-testid="trace-page">trace page</div>} />
      </Routes>
    </MemoryRouter>,
  );
}

describe('ResultsTable', () => {
  beforeAll(() => {
    // jsdom lays nothing out: give the virtualised list a viewport so it renders rows.
    vi.spyOn(Element.prototype, 'clientHeight', 'get').mockReturnValue(600);
    vi.spyOn(Element.prototype, 'clientWidth', 'get').mockReturnValue(1200);
  });
  afterAll(() => vi.restoreAllMocks());

  it('opens the clicked span and shows its trace id', () => {
    renderTable(false);
    const rows = screen.getAllByTestId('result-row');
    expect(rows).toHaveLength(2);
    expect(screen.getAllByTestId('cell-trace').map((c) => [c.textContent, c.getAttribute('title')])).toEqual([
      [TRACE.slice(0, 8), TRACE],
      [TRACE.slice(0, 8), TRACE],
    ]);
    fireEvent.click(rows[1]);
    expect(screen.getByTestId('trace-page')).toBeTruthy();
  });

  it("keeps a replaced search's rows from opening while the new one loads", () => {
    renderTable(true);
    const table = screen.getByRole('table');
    expect(table.getAttribute('data-stale')).toBe('true');
    expect(table.getAttribute('aria-busy')).toBe('true');
    const rows = screen.getAllByTestId('result-row');
    expect(rows[0].getAttribute('aria-disabled')).toBe('true');
    expect(rows[0].tabIndex).toBe(-1);
    fireEvent.click(rows[0]);
    fireEvent.keyDown(rows[1], { key: 'Enter' });
    expect(screen.queryByTestId('trace-page')).toBeNull();
    expect(screen.getAllByTestId('result-row')).toHaveLength(2);
  });
});
