// A span's events: markers on a timeline of the span itself, then each event with its offset
// from the span's start and its attributes. Exception events stand out with their stack trace.
import type { SpanEvent } from '../../../api/types';
import { ERROR_COLOR } from '../../../model/colors';
import { formatDuration } from '../../../model/format';
import { attributeText, toBigInt, type Span } from '../../../model/span';
import { AttributeTable } from './AttributeTable';

export function isException(e: SpanEvent): boolean {
  return e.name === 'exception' || 'exception.type' in e.attributes || 'exception.message' in e.attributes;
}

export function EventsView({ span }: { span: Span }) {
  const events = span.raw.span.events ?? [];
  if (events.length === 0) {
    return <div className="muted small">No events{span.raw.span.droppedEventsCount ? ` (${span.raw.span.droppedEventsCount} dropped)` : ''}</div>;
  }
  const dur = Number(span.durationNs) || 1;
  return (
    <div className="events" data-testid="events">
      <div className="event-timeline" aria-hidden="true">
        {events.map((e, i) => {
          const off = Number(toBigInt(e.timeUnixNano) - span.startNs);
          const pct = Math.max(0, Math.min(100, (off / dur) * 100));
          return (
            <span
              key={i}
              className="event-marker"
              style={{ left: `${pct}%`, background: isException(e) ? ERROR_COLOR : undefined }}
              title={`${e.name} at +${formatDuration(off)}`}
            />
          );
        })}
      </div>
      <ol className="event-list">
        {events.map((e, i) => {
          const off = toBigInt(e.timeUnixNano) - span.startNs;
          const exc = isException(e);
          const stack = e.attributes['exception.stacktrace'];
          return (
            <li key={i} className={exc ? 'event exception' : 'event'} data-testid="event">
              <div className="event-head">
                <span className="mono muted">+{formatDuration(off)}</span> <strong data-testid="event-name">{e.name}</strong>
              </div>
              {exc && (
                <div className="exception-summary">
                  {attributeText(e.attributes['exception.type'])}
                  {e.attributes['exception.message'] !== undefined && `: ${attributeText(e.attributes['exception.message'])}`}
                </div>
              )}
              <AttributeTable
                attributes={Object.fromEntries(Object.entries(e.attributes).filter(([k]) => k !== 'exception.stacktrace'))}
                empty=""
              />
              {stack !== undefined && <pre className="stacktrace">{attributeText(stack)}</pre>}
            </li>
          );
        })}
      </ol>
    </div>
  );
}
