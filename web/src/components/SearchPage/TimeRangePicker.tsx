// Time range: presets as one click each, or a custom absolute range to the second in the zone
// chosen in the header (UTC or local); and "Copy link" for the search with the range pinned.
import { useState } from 'react';
import { describeTimeZone, fromDatetimeInput, toDatetimeInput } from '../../model/format';
import { PRESET_LABELS, PRESET_MS, RANGE_PRESETS, type TimeRange } from '../../model/searchState';
import { Popover } from '../common/Popover';
import { useTimeZone } from '../Layout/timeZone';
import { CopyLinkButton } from './CopyLinkButton';

/**
 * `nowMs`: the instant the relative range on screen was last evaluated at, so a copied link pins
 * exactly the rows shown; without it, the link ends at the moment of the copy.
 */
export function TimeRangePicker({ range, onChange, nowMs }: { range: TimeRange; onChange: (r: TimeRange) => void; nowMs?: number }) {
  const { timeZone, formatRange } = useTimeZone();
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<string | null>(null);

  const openCustom = () => {
    const now = Date.now();
    const [s, e] =
      range.kind === 'absolute' ? [range.startMs, range.endMs] : [now - PRESET_MS[range.preset], now];
    setFrom(toDatetimeInput(s, timeZone));
    setTo(toDatetimeInput(e, timeZone));
    setError(null);
    setOpen(true);
  };

  const apply = () => {
    const s = fromDatetimeInput(from, timeZone);
    const e = fromDatetimeInput(to, timeZone);
    if (s === null || e === null) {
      setError('Enter both times as YYYY-MM-DD hh:mm:ss');
      return;
    }
    if (e < s) {
      setError('The end must not be before the start');
      return;
    }
    // The end second is inclusive: a range ending at 12:00:05 covers spans started in that second.
    onChange({ kind: 'absolute', startMs: s, endMs: e + 999 });
    setOpen(false);
  };

  return (
    <div className="time-range" data-testid="time-range">
      <div className="segmented" role="group" aria-label="Time range">
        {RANGE_PRESETS.map((p) => (
          <button
            key={p}
            type="button"
            className={range.kind === 'relative' && range.preset === p ? 'selected' : undefined}
            aria-pressed={range.kind === 'relative' && range.preset === p}
            title={PRESET_LABELS[p]}
            onClick={() => onChange({ kind: 'relative', preset: p })}
          >
            {p}
          </button>
        ))}
        <button
          type="button"
          className={range.kind === 'absolute' ? 'selected' : undefined}
          aria-pressed={range.kind === 'absolute'}
          onClick={openCustom}
          data-testid="custom-range"
        >
          {range.kind === 'absolute' ? formatRange(range.startMs, range.endMs) : 'Custom…'}
        </button>
      </div>
      {open && (
        <Popover onClose={() => setOpen(false)} className="range-popover">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              apply();
            }}
          >
            <label>
              From
              <input type="datetime-local" step={1} value={from} onChange={(e) => setFrom(e.target.value)} aria-label="From" />
            </label>
            <label>
              To
              <input type="datetime-local" step={1} value={to} onChange={(e) => setTo(e.target.value)} aria-label="To" />
            </label>
            <div className="muted small" data-testid="range-zone">Times are in {describeTimeZone(timeZone)}.</div>
            {error && <div className="form-error" role="alert">{error}</div>}
            <div className="popover-actions">
              <button type="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" className="primary">
                Apply
              </button>
            </div>
          </form>
        </Popover>
      )}
      <CopyLinkButton nowMs={nowMs} />
    </div>
  );
}
