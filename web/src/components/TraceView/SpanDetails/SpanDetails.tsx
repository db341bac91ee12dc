// Every field of one span: overview (service, kind, status, times, ids), attributes, resource,
// scope, events, links (to the linked trace) and the raw JSON as the API returned it.
import { useState } from 'react';
import { Link } from 'react-router';
import { prettyApiJson } from '../../../api/json';
import { ERROR_COLOR } from '../../../model/colors';
import { useServiceColor } from '../serviceColors';
import { formatDuration } from '../../../model/format';
import { useTimeZone } from '../../Layout/timeZone';
import { attributeText, msToNs, nsToMs, serviceLabel } from '../../../model/span';
import { durationRank, RANK_STATISTICS, rankText } from '../../../model/durationRank';
import { useStatistics } from '../../../api/hooks';
import type { SearchFilter } from '../../../api/types';
import type { SpanNode, SpanTree } from '../../../model/spanTree';
import { CopyButton } from '../../common/CopyButton';
import { ISSUE_TEXT } from '../Timeline/Waterfall';
import { AttributeTable } from './AttributeTable';
import { EventsView, isException } from './EventsView';

const TABS = ['Attributes', 'Resource', 'Scope', 'Events', 'Links', 'JSON'] as const;
type Tab = (typeof TABS)[number];

interface Props {
  node: SpanNode;
  tree: SpanTree;
  onSelect: (key: string) => void;
  onClose: () => void;
}

/** Spans of the same operation this far before and after the span are its comparison group. */
const RANK_WINDOW_MS = 30 * 60_000;

/** Where the span's duration falls among its service's spans of the same name, ±30 min. */
export function OperationRank({ service, name, startMs, durationNs }: { service: unknown; name: string; startMs: number; durationNs: bigint }) {
  const filters: SearchFilter[] = [{ keyValueFilter: { key: 'span.name', operator: 'equals', value: name } }];
  if (typeof service === 'string') filters.push({ keyValueFilter: { key: 'resource.attributes.service.name', operator: 'equals', value: service } });
  const q = useStatistics('externalFields.durationNano', {
    timeframe: { startTimeUnixNanoSec: msToNs(startMs - RANK_WINDOW_MS), endTimeUnixNanoSec: msToNs(startMs + RANK_WINDOW_MS) },
    filters,
    desiredStatistics: RANK_STATISTICS,
    // Within 1% (the count, and the first and last ranks, exact): what a rank needs, and it lets
    // Elasticsearch/OpenSearch answer from the engine instead of Teletrace reading every span.
    approximate: true,
  });
  const rank = q.isPlaceholderData ? null : durationRank(durationNs, q.data?.statistics);
  if (!rank) return null;
  return (
    <div className="muted small" data-testid="duration-rank" title="Among spans of the same service and name starting within 30 minutes of this one">
      {rankText(rank)} · p50 {formatDuration(rank.p50Ns)} · p99 {formatDuration(rank.p99Ns)} (±30 min)
    </div>
  );
}

export function SpanDetails({ node, tree, onSelect, onClose }: Props) {
  const serviceColor = useServiceColor();
  const { formatTime } = useTimeZone();
  const [tab, setTab] = useState<Tab>('Attributes');
  const span = node.span;
  const raw = span.raw;
  const service = serviceLabel(span);
  const parent = span.parentSpanId ? tree.bySpanId.get(span.parentSpanId) : undefined;
  const error = span.statusCode === 'Error';
  const exceptions = (raw.span.events ?? []).filter(isException);
  const counts: Partial<Record<Tab, number>> = {
    Attributes: Object.keys(raw.span.attributes ?? {}).length,
    Resource: Object.keys(raw.resource?.attributes ?? {}).length,
    Events: raw.span.events?.length ?? 0,
    Links: raw.span.links?.length ?? 0,
  };

  return (
    <aside className="span-details" data-testid="span-details" data-span-id={span.spanId} aria-label="Span details">
      <header className="sd-header">
        <span className="wf-color" style={{ background: serviceColor(service) }} />
        <div className="sd-title">
          <h2 title={span.name} data-testid="span-details-name">
            {span.name}
          </h2>
          <div className="muted small">{service}</div>
        </div>
        <button type="button" className="icon-button" onClick={onClose} aria-label="Close span details">
          ×
        </button>
      </header>

      {error && (
        <div className="sd-error" style={{ borderColor: ERROR_COLOR }} data-testid="span-error">
          <strong>Error</strong>
          {span.statusMessage && <>: {span.statusMessage}</>}
          {exceptions.map((e, i) => (
            <div key={i} className="small">
              {attributeText(e.attributes['exception.type'])} {attributeText(e.attributes['exception.message'])}
            </div>
          ))}
        </div>
      )}

      <dl className="sd-grid">
        <dt>Service</dt>
        <dd>{service}</dd>
        <dt>Kind</dt>
        <dd data-testid="span-kind">{span.kind}</dd>
        <dt>Status</dt>
        <dd>
          <span className={`status status-${span.statusCode.toLowerCase()}`}>{span.statusCode}</span>
          {span.statusMessage && !error && <span className="muted"> — {span.statusMessage}</span>}
        </dd>
        <dt>Start</dt>
        <dd>
          {formatTime(span.startMs)} <span className="muted">(+{formatDuration(node.startNs - tree.startNs)})</span>
        </dd>
        <dt>Duration</dt>
        <dd>
          {formatDuration(span.durationNs)}
          <OperationRank service={raw.resource?.attributes?.['service.name']} name={span.name} startMs={span.startMs} durationNs={span.durationNs} />
        </dd>
        <dt>Span ID</dt>
        <dd className="mono">
          {span.spanId} <CopyButton text={span.spanId} label="Copy span id" />
        </dd>
        <dt>Trace ID</dt>
        <dd className="mono">
          {span.traceId} <CopyButton text={span.traceId} label="Copy trace id" />
        </dd>
        <dt>Parent</dt>
        <dd className="mono">
          {span.parentSpanId ? (
            parent ? (
              <button type="button" className="link-button mono" onClick={() => onSelect(parent.key)}>
                {span.parentSpanId}
              </button>
            ) : (
              <>
                {span.parentSpanId} <span className="muted">(not in trace)</span>
              </>
            )
          ) : (
            <span className="muted">none (root)</span>
          )}
        </dd>
        {raw.span.traceState && (
          <>
            <dt>Trace state</dt>
            <dd className="mono">{raw.span.traceState}</dd>
          </>
        )}
        {node.issues.length > 0 && (
          <>
            <dt>Notes</dt>
            <dd>
              {node.issues.map((i) => (
                <div key={i} className="small">
                  {ISSUE_TEXT[i]}
                  {i === 'skew' && ` by ${formatDuration(node.skewNs)}`}
                </div>
              ))}
            </dd>
          </>
        )}
      </dl>

      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            className={tab === t ? 'selected' : undefined}
            onClick={() => setTab(t)}
            data-testid={`tab-${t.toLowerCase()}`}
          >
            {t}
            {counts[t] ? <span className="tab-count">{counts[t]}</span> : null}
          </button>
        ))}
      </div>
      <div className="tab-body" role="tabpanel">
        {tab === 'Attributes' && (
          <>
            <AttributeTable attributes={raw.span.attributes} testId="span-attributes" />
            {raw.span.droppedAttributesCount > 0 && <div className="muted small">{raw.span.droppedAttributesCount} attributes dropped</div>}
          </>
        )}
        {tab === 'Resource' && <AttributeTable attributes={raw.resource?.attributes} testId="resource-attributes" />}
        {tab === 'Scope' && (
          <>
            <dl className="sd-grid">
              <dt>Name</dt>
              <dd>{raw.scope?.name || <span className="muted">(none)</span>}</dd>
              <dt>Version</dt>
              <dd>{raw.scope?.version || <span className="muted">(none)</span>}</dd>
            </dl>
            <AttributeTable attributes={raw.scope?.attributes} empty="No scope attributes" />
          </>
        )}
        {tab === 'Events' && <EventsView span={span} />}
        {tab === 'Links' && (
          <div data-testid="links">
            {(raw.span.links ?? []).length === 0 && <div className="muted small">No links</div>}
            {(raw.span.links ?? []).map((l, i) => (
              <div key={i} className="link-item" data-testid="link">
                <Link to={`/trace/${l.traceId}?spanId=${l.spanId}`} className="mono" data-testid="link-target">
                  {l.traceId === span.traceId ? 'this trace' : `trace ${l.traceId}`} · span {l.spanId}
                </Link>
                {l.traceState && <div className="small muted">trace state {l.traceState}</div>}
                <AttributeTable attributes={l.attributes} empty="" />
              </div>
            ))}
          </div>
        )}
        {tab === 'JSON' && (
          <div className="raw-json">
            <div className="raw-json-actions">
              <CopyButton text={prettyApiJson(raw)} label="Copy JSON" />
            </div>
            <pre data-testid="raw-json">{prettyApiJson(raw)}</pre>
          </div>
        )}
      </div>
      <div className="muted small sd-foot">Ingested {formatTime(nsToMs(BigInt(raw.ingestionTimeUnixNano || '0')))}</div>
    </aside>
  );
}
