// One facet: the values of a key with their span counts under every other filter (this facet's
// own selection excluded, so picking a value does not hide the others), multi-select, search, clear.
import { useMemo, useState } from 'react';
import { useTagValues } from '../../../api/hooks';
import type { Scalar, TagType, Timeframe } from '../../../api/types';
import { keyTitle, splitKey } from '../../../model/filters';
import { apiFilters, type SearchState } from '../../../model/searchState';
import { ERROR_COLOR, serviceColor } from '../../../model/colors';
import { errorText, isRequestError } from '../../common/ErrorMessage';
import type { UpdateSearch } from '../useSearchState';

const LIMIT = 50;
const COLLAPSED_ROWS = 8;

interface Props {
  facetKey: string;
  title?: string;
  type: TagType | undefined;
  state: SearchState;
  update: UpdateSearch;
  timeframe: Timeframe;
  onRemove?: () => void;
}

function toScalar(v: string | number | bigint | boolean): Scalar {
  return typeof v === 'bigint' ? Number(v) : v;
}

export function Facet({ facetKey, title, type, state, update, timeframe, onRemove }: Props) {
  const [search, setSearch] = useState('');
  const [showAll, setShowAll] = useState(false);
  const [open, setOpen] = useState(true);
  const textual = type === undefined || type === 'Str';
  const filters = useMemo(() => {
    const f = apiFilters(state, { exceptSelection: facetKey });
    if (search && textual) f.push({ keyValueFilter: { key: facetKey, operator: 'contains', value: search } });
    return f;
  }, [state, facetKey, search, textual]);
  const q = useTagValues(facetKey, { timeframe, filters, limit: LIMIT }, open);
  const selected = state.selections[facetKey] ?? [];
  const isSelected = (v: Scalar) => selected.some((s) => s === v);

  const values = useMemo(() => {
    let list = (q.data?.values ?? []).map((v) => ({ value: toScalar(v.value), count: v.count }));
    if (search && !textual) list = list.filter((v) => String(v.value).toLowerCase().includes(search.toLowerCase()));
    // Selected values stay visible even when the other filters leave them no spans.
    for (const s of selected) if (!list.some((v) => v.value === s)) list.push({ value: s, count: 0 });
    return list;
  }, [q.data, search, textual, selected]);

  const toggle = (v: Scalar) =>
    update((s) => {
      const cur = s.selections[facetKey] ?? [];
      const next = cur.some((x) => x === v) ? cur.filter((x) => x !== v) : [...cur, v];
      const selections = { ...s.selections };
      if (next.length) selections[facetKey] = next;
      else delete selections[facetKey];
      return { ...s, selections };
    });
  const clear = () =>
    update((s) => {
      const selections = { ...s.selections };
      delete selections[facetKey];
      return { ...s, selections };
    });

  const shown = showAll ? values : values.slice(0, COLLAPSED_ROWS);
  const label = title ?? keyTitle(facetKey);
  const total = q.data?.totalDistinctValues;

  return (
    <section className="facet" data-testid="facet" data-key={facetKey}>
      <header className="facet-header">
        <button type="button" className="facet-title" onClick={() => setOpen(!open)} aria-expanded={open} title={facetKey}>
          <span className="caret">{open ? '▾' : '▸'}</span> {label}
          {splitKey(facetKey).level !== 'intrinsic' && title === undefined && (
            <span className={`level-badge level-${splitKey(facetKey).level}`}>{splitKey(facetKey).level}</span>
          )}
        </button>
        {selected.length > 0 && (
          <button type="button" className="link-button small" onClick={clear} data-testid="facet-clear">
            Clear
          </button>
        )}
        {onRemove && (
          <button type="button" className="link-button small" onClick={onRemove} aria-label={`Remove facet ${label}`}>
            ×
          </button>
        )}
      </header>
      {open && (
        <div className="facet-body">
          {(values.length > COLLAPSED_ROWS || search) && (
            <input
              className="facet-search"
              placeholder={`Search ${label.toLowerCase()}…`}
              aria-label={`Search ${label}`}
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          )}
          {q.isError && !isRequestError(q.error) && <div className="form-error">{errorText(q.error)}</div>}
          {q.isPending && <div className="muted small">Loading…</div>}
          {!q.isPending && !q.isError && values.length === 0 && <div className="muted small">No values</div>}
          <ul className="facet-values">
            {shown.map((v) => {
              const text = String(v.value);
              const color =
                facetKey === 'resource.attributes.service.name'
                  ? serviceColor(text)
                  : facetKey === 'span.status.code' && text === 'Error'
                    ? ERROR_COLOR
                    : undefined;
              return (
                <li key={`${typeof v.value}:${text}`}>
                  <label className="facet-value" data-testid="facet-value" data-value={text}>
                    <input type="checkbox" checked={isSelected(v.value)} onChange={() => toggle(v.value)} />
                    {color && <span className="swatch" style={{ background: color }} />}
                    <span className="facet-value-text" title={text}>
                      {text === '' ? <em>(empty)</em> : text}
                    </span>
                    <span className="facet-count">{v.count.toLocaleString('en-US')}</span>
                  </label>
                </li>
              );
            })}
          </ul>
          {values.length > COLLAPSED_ROWS && (
            <button type="button" className="link-button small" onClick={() => setShowAll(!showAll)}>
              {showAll ? 'Show less' : `Show all ${values.length}`}
            </button>
          )}
          {total !== undefined && total > LIMIT && showAll && (
            <div className="muted small">
              Top {LIMIT} of {total.toLocaleString('en-US')} values; search to find others.
            </div>
          )}
        </div>
      )}
    </section>
  );
}
