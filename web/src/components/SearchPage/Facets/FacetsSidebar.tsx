// The facets column: status, service, span name, the HTTP facets the data has, the duration
// facet, and any attribute facet the user adds (kept in the URL).
import { useMemo, useState } from 'react';
import type { TagInfo, Timeframe } from '../../../api/types';
import { loadRecentKeys, rememberKey, splitKey, suggestKeys } from '../../../model/filters';
import type { SearchState } from '../../../model/searchState';
import { Autocomplete } from '../../common/Autocomplete';
import { tagTypeMap } from '../FilterBuilder/FilterEditor';
import type { UpdateSearch } from '../useSearchState';
import { DurationFacet } from './DurationFacet';
import { Facet } from './Facet';

interface Props {
  state: SearchState;
  update: UpdateSearch;
  tags: readonly TagInfo[] | undefined;
  timeframe: Timeframe;
}

const FIXED: { key: string; title: string }[] = [
  { key: 'span.status.code', title: 'Status' },
  { key: 'resource.attributes.service.name', title: 'Service' },
  { key: 'span.name', title: 'Span name' },
];

// Current semantic conventions first, then the older names instrumentations still send.
const HTTP: { title: string; keys: string[] }[] = [
  { title: 'HTTP method', keys: ['span.attributes.http.request.method', 'span.attributes.http.method'] },
  { title: 'HTTP route', keys: ['span.attributes.http.route'] },
  {
    title: 'HTTP status code',
    keys: ['span.attributes.http.response.status_code', 'span.attributes.http.status_code'],
  },
];

export function FacetsSidebar({ state, update, tags, timeframe }: Props) {
  const types = useMemo(() => tagTypeMap(tags), [tags]);
  const httpFacets = HTTP.flatMap((h) => {
    const key = h.keys.find((k) => types.has(k));
    return key ? [{ key, title: h.title }] : [];
  });
  const builtIn = new Set([...FIXED, ...httpFacets].map((f) => f.key));
  const extra = state.extraFacets.filter((k) => !builtIn.has(k));

  const [adding, setAdding] = useState(false);
  const [text, setText] = useState('');
  const addFacet = (key: string) => {
    rememberKey(key);
    update((s) => ({ ...s, extraFacets: s.extraFacets.includes(key) ? s.extraFacets : [...s.extraFacets, key] }));
    setAdding(false);
    setText('');
  };
  const removeFacet = (key: string) =>
    update((s) => {
      const selections = { ...s.selections };
      delete selections[key];
      return { ...s, extraFacets: s.extraFacets.filter((k) => k !== key), selections };
    });
  const candidates = useMemo(
    () => [...types.keys()].filter((k) => !builtIn.has(k) && !extra.includes(k) && types.get(k) !== 'Map'),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [types, extra.join('\n'), [...builtIn].join('\n')],
  );

  return (
    <aside className="facets" data-testid="facets" aria-label="Facets">
      {[...FIXED, ...httpFacets].map((f) => (
        <Facet
          key={f.key}
          facetKey={f.key}
          title={f.title}
          type={types.get(f.key)}
          state={state}
          update={update}
          timeframe={timeframe}
        />
      ))}
      <DurationFacet state={state} update={update} timeframe={timeframe} />
      {extra.map((k) => (
        <Facet
          key={k}
          facetKey={k}
          type={types.get(k)}
          state={state}
          update={update}
          timeframe={timeframe}
          onRemove={() => removeFacet(k)}
        />
      ))}
      <div className="add-facet">
        {adding ? (
          <Autocomplete
            value={text}
            onChange={setText}
            options={suggestKeys(candidates, loadRecentKeys(), text, 40).map((k) => ({
              value: k,
              label: (
                <>
                  <span className={`level-badge level-${splitKey(k).level}`}>{splitKey(k).level}</span> {splitKey(k).name}
                </>
              ),
              hint: types.get(k),
            }))}
            onSelect={addFacet}
            onEnter={() => text.trim() && addFacet(text.trim())}
            ariaLabel="Attribute key for a new facet"
            placeholder="Attribute key…"
            testId="add-facet-key"
            autoFocus
          />
        ) : (
          <button type="button" className="link-button" onClick={() => setAdding(true)} data-testid="add-facet">
            + Add facet
          </button>
        )}
      </div>
    </aside>
  );
}
