import { fireEvent, render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { localTimeZone, zoneLabel } from '../../model/format';
import { TimeZoneProvider, TimeZoneToggle, useTimeZone } from './timeZone';

const T = Date.UTC(2026, 11, 4, 14, 18, 39, 497);

function Shown({ id }: { id: string }) {
  const { formatTime } = useTimeZone();
  return <span data-testid={id}>{formatTime(T)}</span>;
}

function renderApp() {
  return render(
    <TimeZoneProvider>
      <TimeZoneToggle />
      <Shown id="a" />
      <Shown id="b" />
    </TimeZoneProvider>,
  );
}

describe('the UTC / local switch', () => {
  beforeEach(() => localStorage.clear());

  it('starts local, switches every time on screen at once and remembers the choice', () => {
    const view = renderApp();
    const localText = screen.getByTestId('a').textContent!;
    expect(localText.endsWith(` ${zoneLabel(T, localTimeZone())}`)).toBe(true);
    fireEvent.click(screen.getByTestId('tz-utc'));
    expect(screen.getByTestId('a').textContent).toBe('2026-12-04 14:18:39.497 UTC');
    expect(screen.getByTestId('b').textContent).toBe('2026-12-04 14:18:39.497 UTC');
    expect(screen.getByTestId('tz-utc').getAttribute('aria-pressed')).toBe('true');
    expect(localStorage.getItem('teletrace.timeZone')).toBe('utc');
    view.unmount();

    renderApp();
    expect(screen.getByTestId('a').textContent).toBe('2026-12-04 14:18:39.497 UTC');
    fireEvent.click(screen.getByTestId('tz-local'));
    expect(screen.getByTestId('b').textContent).toBe(localText);
    expect(localStorage.getItem('teletrace.timeZone')).toBe('local');
  });
});
