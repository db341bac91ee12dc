// The trace's headline numbers: id (copyable), root service and operation, start, duration, and
// how many spans, services and errors it has.
import { ERROR_COLOR } from '../../model/colors';
import { useServiceColor } from './serviceColors';
import { formatDuration } from '../../model/format';
import { UNKNOWN_SERVICE, nsToMs } from '../../model/span';
import type { SpanTree, TraceSummary } from '../../model/spanTree';
import { CopyButton } from '../common/CopyButton';
import { useTimeZone } from '../Layout/timeZone';

export function TraceHeader({ summary, tree }: { summary: TraceSummary; tree: SpanTree }) {
  const serviceColor = useServiceColor();
  const { formatTime } = useTimeZone();
  const service = summary.rootService || UNKNOWN_SERVICE;
  const notes: string[] = [];
  if (tree.counts.orphans) notes.push(`${tree.counts.orphans} span${tree.counts.orphans === 1 ? '' : 's'} with a missing parent`);
  if (tree.counts.cycles) notes.push(`${tree.counts.cycles} parent cycle${tree.counts.cycles === 1 ? '' : 's'} cut`);
  if (tree.counts.duplicates) notes.push(`${tree.counts.duplicates} spans share an id`);
  if (tree.droppedDuplicates) notes.push(`${tree.droppedDuplicates} exact duplicate${tree.droppedDuplicates === 1 ? '' : 's'} hidden`);
  if (tree.counts.skewed) notes.push(`${tree.counts.skewed} span${tree.counts.skewed === 1 ? '' : 's'} adjusted for clock skew`);
  return (
    <header className="trace-header" data-testid="trace-header">
      <h1>
        <span className="wf-color" style={{ background: serviceColor(service) }} />
        <span className="th-service">{service}:</span> <span data-testid="trace-root-name">{summary.rootName}</span>
      </h1>
      <dl className="trace-stats">
        <div>
          <dt>Trace ID</dt>
          <dd className="mono" data-testid="trace-id">
            {summary.traceId} <CopyButton text={summary.traceId} label="Copy trace id" />
          </dd>
        </div>
        <div>
          <dt>Start</dt>
          <dd data-testid="trace-start">{formatTime(nsToMs(summary.startNs))}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="trace-duration">{formatDuration(summary.durationNs)}</dd>
        </div>
        <div>
          <dt>Spans</dt>
          <dd data-testid="trace-span-count">{summary.spanCount.toLocaleString('en-US')}</dd>
        </div>
        <div>
          <dt>Services</dt>
          <dd data-testid="trace-service-count">{summary.serviceCount}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="trace-error-count" style={summary.errorCount ? { color: ERROR_COLOR, fontWeight: 600 } : undefined}>
            {summary.errorCount}
          </dd>
        </div>
      </dl>
      {notes.length > 0 && <div className="trace-notes small muted">Note: {notes.join(' · ')}</div>}
    </header>
  );
}
