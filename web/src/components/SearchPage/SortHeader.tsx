// A sortable column header of the results tables (spans and traces): start time or duration.
import type { SearchState, SortBy } from '../../model/searchState';

interface Props {
  by: SortBy;
  label: string;
  state: SearchState;
  onSort: (by: SortBy) => void;
  /** data-testid of the button. */
  testId: string;
}

export function SortHeader({ by, label, state, onSort, testId }: Props) {
  const active = state.sort.by === by;
  const dir = active ? (state.sort.ascending ? 'ascending' : 'descending') : 'none';
  return (
    <div role="columnheader" aria-sort={dir} className="th sortable">
      <button type="button" onClick={() => onSort(by)} data-testid={testId}>
        {label} <span className="sort-mark">{active ? (state.sort.ascending ? '▲' : '▼') : '↕'}</span>
      </button>
    </div>
  );
}
