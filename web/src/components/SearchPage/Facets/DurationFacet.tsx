// The duration facet: the distribution's landmarks from the statistics endpoint (min, p50, p90,
// p99, max; the percentiles approximate, see model/chartRequests.ts) and a range to keep, typed
// ("150ms") or dragged on a logarithmic slider.
import { useEffect, useMemo, useState } from 'react';
import { useStatistics } from '../../../api/hooks';
import type { Timeframe } from '../../../api/types';
import { durationFacetRequest } from '../../../model/chartRequests';
import { durationInputText, formatDuration, parseDuration } from '../../../model/format';
import { DURATION_KEY, apiFilters, type SearchState } from '../../../model/searchState';
import { errorText, isRequestError } from '../../common/ErrorMessage';
import type { UpdateSearch } from '../useSearchState';

const STEPS = 1000;

interface Props {
  state: SearchState;
  update: UpdateSearch;
  timeframe: Timeframe;
}

function num(v: number | bigint | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

export function DurationFacet({ state, update, timeframe }: Props) {
  const filters = useMemo(() => apiFilters(state, { exceptDuration: true }), [state]);
  const q = useStatistics(DURATION_KEY, durationFacetRequest(timeframe, filters));
  const stats = q.data?.statistics ?? {};
  const min = num(stats.min);
  const max = num(stats.max);
  const count = num(stats.count) ?? 0;

  const [minText, setMinText] = useState('');
  const [maxText, setMaxText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const initialMin = state.durationMinNs === null ? '' : durationInputText(state.durationMinNs);
  const initialMax = state.durationMaxNs === null ? '' : durationInputText(state.durationMaxNs);
  useEffect(() => {
    setMinText(initialMin);
    setMaxText(initialMax);
  }, [initialMin, initialMax]);

  const set = (lo: bigint | null, hi: bigint | null) =>
    update((s) => ({ ...s, durationMinNs: lo, durationMaxNs: hi }));

  const applyText = () => {
    if (minText === initialMin && maxText === initialMax) return;
    const lo = minText.trim() ? parseDuration(minText) : null;
    const hi = maxText.trim() ? parseDuration(maxText) : null;
    if ((minText.trim() && lo === null) || (maxText.trim() && hi === null)) {
      setError('Durations look like 150ms, 1.5s, 200us or 2m');
      return;
    }
    if (lo !== null && hi !== null && hi < lo) {
      setError('The maximum is below the minimum');
      return;
    }
    setError(null);
    if (lo !== state.durationMinNs || hi !== state.durationMaxNs) set(lo, hi);
  };

  // Log-scale slider between the observed min and max.
  const lo = Math.max(1, min ?? 1);
  const hi = Math.max(lo + 1, max ?? lo + 1);
  const toPos = (ns: number) => Math.round(((Math.log(Math.max(ns, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * STEPS);
  const fromPos = (p: number) => Math.round(Math.exp(Math.log(lo) + (p / STEPS) * (Math.log(hi) - Math.log(lo))));
  const [drag, setDrag] = useState<[number, number] | null>(null);
  const posLo = drag ? drag[0] : state.durationMinNs === null ? 0 : toPos(Number(state.durationMinNs));
  const posHi = drag ? drag[1] : state.durationMaxNs === null ? STEPS : toPos(Number(state.durationMaxNs));
  const commitDrag = () => {
    if (!drag) return;
    const [a, b] = drag;
    setDrag(null);
    set(a <= 0 ? null : BigInt(fromPos(a)), b >= STEPS ? null : BigInt(fromPos(b)));
  };

  const active = state.durationMinNs !== null || state.durationMaxNs !== null;

  return (
    <section className="facet duration-facet" data-testid="duration-facet">
      <header className="facet-header">
        <span className="facet-title static">Duration</span>
        {active && (
          <button type="button" className="link-button small" onClick={() => set(null, null)}>
            Clear
          </button>
        )}
      </header>
      {q.isError && !isRequestError(q.error) && <div className="form-error">{errorText(q.error)}</div>}
      {count > 0 && min !== undefined && max !== undefined ? (
        <>
          <dl className="duration-stats">
            {(['min', 'p50', 'p90', 'p99', 'max'] as const).map((k) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{stats[k] !== undefined ? formatDuration(Number(stats[k])) : '–'}</dd>
              </div>
            ))}
          </dl>
          <div className="dual-range" aria-label="Duration range">
            <input
              type="range"
              min={0}
              max={STEPS}
              value={posLo}
              aria-label="Minimum duration"
              onChange={(e) => setDrag([Math.min(Number(e.target.value), posHi), posHi])}
              onMouseUp={commitDrag}
              onKeyUp={commitDrag}
              onTouchEnd={commitDrag}
            />
            <input
              type="range"
              min={0}
              max={STEPS}
              value={posHi}
              aria-label="Maximum duration"
              onChange={(e) => setDrag([posLo, Math.max(Number(e.target.value), posLo)])}
              onMouseUp={commitDrag}
              onKeyUp={commitDrag}
              onTouchEnd={commitDrag}
            />
          </div>
          <div className="quick-row">
            {(['p90', 'p99'] as const).map((k) =>
              stats[k] !== undefined ? (
                <button key={k} type="button" className="small" onClick={() => set(BigInt(Math.round(Number(stats[k]))), null)}>
                  ≥ {k}
                </button>
              ) : null,
            )}
          </div>
        </>
      ) : (
        !q.isPending && <div className="muted small">No spans in range</div>
      )}
      <form
        className="duration-inputs"
        onSubmit={(e) => {
          e.preventDefault();
          applyText();
        }}
      >
        <input
          value={minText}
          onChange={(e) => setMinText(e.target.value)}
          onBlur={applyText}
          placeholder="min, e.g. 100ms"
          aria-label="Minimum duration (e.g. 100ms)"
          data-testid="duration-min"
        />
        <span>–</span>
        <input
          value={maxText}
          onChange={(e) => setMaxText(e.target.value)}
          onBlur={applyText}
          placeholder="max"
          aria-label="Maximum duration"
          data-testid="duration-max"
        />
        <button type="submit" hidden />
      </form>
      {error && <div className="form-error">{error}</div>}
    </section>
  );
}
