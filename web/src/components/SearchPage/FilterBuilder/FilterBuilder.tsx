// The filter bar: one chip per built filter (click to edit, × to remove), "Add filter", "Clear all".
import { useState } from 'react';
import type { TagInfo, Timeframe } from '../../../api/types';
import { keyTitle } from '../../../model/filters';
import { apiFilters, describeFilter, type SearchState, type UiFilter } from '../../../model/searchState';
import { Popover } from '../../common/Popover';
import type { UpdateSearch } from '../useSearchState';
import { FilterEditor } from './FilterEditor';

interface Props {
  state: SearchState;
  update: UpdateSearch;
  tags: readonly TagInfo[] | undefined;
  timeframe: Timeframe;
}

export function chipText(f: UiFilter): string {
  const full = describeFilter(f);
  return full.startsWith(f.key) ? keyTitle(f.key) + full.slice(f.key.length) : full;
}

export function FilterBuilder({ state, update, tags, timeframe }: Props) {
  // null: closed; -1: adding; n: editing filter n.
  const [editing, setEditing] = useState<number | null>(null);

  const save = (f: UiFilter) => {
    update((s) => {
      const filters = [...s.filters];
      if (editing === null || editing < 0) filters.push(f);
      else filters[editing] = f;
      return { ...s, filters };
    });
    setEditing(null);
  };
  const remove = (i: number) => update((s) => ({ ...s, filters: s.filters.filter((_, j) => j !== i) }));
  const hasAny =
    state.filters.length > 0 ||
    Object.keys(state.selections).length > 0 ||
    state.durationMinNs !== null ||
    state.durationMaxNs !== null;

  const otherFilters = apiFilters({
    ...state,
    filters: editing !== null && editing >= 0 ? state.filters.filter((_, j) => j !== editing) : state.filters,
  });

  return (
    <div className="filter-bar" data-testid="filter-bar">
      {state.filters.map((f, i) => (
        <span key={i} className="chip" data-testid="filter-chip">
          <button type="button" className="chip-text" onClick={() => setEditing(i)} title={`Edit: ${describeFilter(f)}`}>
            {chipText(f)}
          </button>
          <button type="button" className="chip-remove" aria-label={`Remove filter ${describeFilter(f)}`} onClick={() => remove(i)}>
            ×
          </button>
        </span>
      ))}
      <div className="popover-anchor">
        <button type="button" className="add-filter" onClick={() => setEditing(-1)} data-testid="add-filter">
          + Add filter
        </button>
        {editing !== null && (
          <Popover onClose={() => setEditing(null)} className="filter-popover">
            <FilterEditor
              key={editing}
              initial={editing >= 0 ? state.filters[editing] : null}
              tags={tags}
              timeframe={timeframe}
              otherFilters={otherFilters}
              onSave={save}
              onCancel={() => setEditing(null)}
            />
          </Popover>
        )}
      </div>
      {hasAny && (
        <button
          type="button"
          className="link-button"
          data-testid="clear-all"
          onClick={() =>
            update((s) => ({ ...s, filters: [], selections: {}, durationMinNs: null, durationMaxNs: null }))
          }
        >
          Clear all
        </button>
      )}
    </div>
  );
}
