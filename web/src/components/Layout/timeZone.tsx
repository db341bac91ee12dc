// Which zone every time on screen is shown in: UTC or the browser's own, chosen in the header,
// kept in localStorage like the theme, and read by every component that shows a time, so one
// click changes them all.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { UTC, formatTimeRange, formatTimestamp, localTimeZone } from '../../model/format';

export type TimeZoneMode = 'local' | 'utc';
const STORAGE_KEY = 'teletrace.timeZone';

function initialMode(): TimeZoneMode {
  try {
    if (localStorage.getItem(STORAGE_KEY) === 'utc') return 'utc';
  } catch {
    // no storage: local, as before there was a choice
  }
  return 'local';
}

export interface TimeZoneSetting {
  mode: TimeZoneMode;
  /** The IANA zone times are shown in: "UTC" or the browser's ("Europe/Berlin"). */
  timeZone: string;
  setMode: (mode: TimeZoneMode) => void;
  /** "2026-12-04 14:18:39.497 UTC" in the chosen zone; see model/format.ts formatTimestamp. */
  formatTime: (epochMs: number, withMillis?: boolean) => string;
  formatRange: (startMs: number, endMs: number) => string;
}

function setting(mode: TimeZoneMode, setMode: (m: TimeZoneMode) => void): TimeZoneSetting {
  const timeZone = mode === 'utc' ? UTC : localTimeZone();
  return {
    mode,
    timeZone,
    setMode,
    formatTime: (ms, withMillis = true) => formatTimestamp(ms, timeZone, withMillis),
    formatRange: (s, e) => formatTimeRange(s, e, timeZone),
  };
}

// Without a provider (component tests) times are local and the choice cannot change.
const TimeZoneContext = createContext<TimeZoneSetting>(setting('local', () => {}));

export function TimeZoneProvider({ children }: { children: ReactNode }) {
  const [mode, setModeState] = useState<TimeZoneMode>(initialMode);
  const setMode = useCallback((next: TimeZoneMode) => {
    setModeState(next);
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // the choice just won't survive a reload
    }
  }, []);
  const value = useMemo(() => setting(mode, setMode), [mode, setMode]);
  return <TimeZoneContext.Provider value={value}>{children}</TimeZoneContext.Provider>;
}

export function useTimeZone(): TimeZoneSetting {
  return useContext(TimeZoneContext);
}

/** The header's UTC / local switch. */
export function TimeZoneToggle() {
  const { mode, setMode } = useTimeZone();
  const local = localTimeZone();
  return (
    <div className="segmented tz-toggle" role="group" aria-label="Time zone" data-testid="tz-toggle" data-mode={mode}>
      <button type="button" className={mode === 'utc' ? 'selected' : undefined} aria-pressed={mode === 'utc'} onClick={() => setMode('utc')} title="Show times in UTC" data-testid="tz-utc">
        UTC
      </button>
      <button
        type="button"
        className={mode === 'local' ? 'selected' : undefined}
        aria-pressed={mode === 'local'}
        onClick={() => setMode('local')}
        title={`Show times in this browser's zone, ${local}`}
        data-testid="tz-local"
      >
        Local
      </button>
    </div>
  );
}
