// Two traces compared (/compare/<a>/<b>): each one's headline numbers, then their structures merged
// by service + operation path, with per path the spans and summed time in each and the difference.
// Paths only one trace has are marked; slower is red, faster green.
import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useTrace } from '../../api/hooks';
import { ERROR_COLOR, viewServiceColors } from '../../model/colors';
import { formatDuration } from '../../model/format';
import { normalizeTraceId } from '../../model/ids';
import { fromInternalSpan } from '../../model/span';
import { buildSpanTree, summarizeTrace, type SpanTree } from '../../model/spanTree';
import { compareTraces, formatDelta, type CompareRow } from '../../model/traceCompare';
import { ErrorMessage } from '../common/ErrorMessage';

/** Rows drawn at most; a comparison of two huge, different traces says how many it left out. */
const MAX_ROWS = 5000;

export function ComparePage() {
  const { a: rawA = '', b: rawB = '' } = useParams();
  const a = normalizeTraceId(rawA);
  const b = normalizeTraceId(rawB);
  if (!a || !b) {
    return (
      <div className="page-message" data-testid="compare-invalid">
        <h2>“{!a ? rawA : rawB}” is not a trace id</h2>
        <p>A trace id is 32 hexadecimal digits.</p>
        <Link to="/">Back to search</Link>
      </div>
    );
  }
  return <CompareLoader a={a} b={b} />;
}

function useTree(traceId: string) {
  const q = useTrace(traceId);
  const tree = useMemo(() => (q.data && q.data.length ? buildSpanTree(q.data.map(fromInternalSpan)) : null), [q.data]);
  return { q, tree };
}

function CompareLoader({ a, b }: { a: string; b: string }) {
  const left = useTree(a);
  const right = useTree(b);
  for (const [id, side] of [
    [a, left],
    [b, right],
  ] as const) {
    if (side.q.isError) {
      return (
        <div className="page-pad">
          <ErrorMessage error={side.q.error} title={`Could not load trace ${id}`} />
        </div>
      );
    }
    if (side.q.isSuccess && !side.tree) {
      return (
        <div className="page-message" data-testid="trace-not-found">
          <h2>Trace not found</h2>
          <p className="mono">{id}</p>
          <Link to="/">Back to search</Link>
        </div>
      );
    }
  }
  if (!left.tree || !right.tree) {
    return (
      <div className="page-message" data-testid="compare-loading">
        <span className="spinner" /> Loading both traces… {(left.q.loaded + right.q.loaded).toLocaleString('en-US')} spans
      </div>
    );
  }
  return <Comparison a={left.tree} b={right.tree} />;
}

function Side({ label, tree }: { label: string; tree: SpanTree }) {
  const s = summarizeTrace(tree)!;
  return (
    <div className="cmp-side" data-testid={`compare-side-${label}`}>
      <div className="cmp-side-label">{label}</div>
      <div>
        <Link className="mono" to={`/trace/${s.traceId}`} data-testid="compare-trace-link">
          {s.traceId}
        </Link>
      </div>
      <div>
        {s.rootService}: {s.rootName}
      </div>
      <div className="muted small">
        <span data-testid="compare-duration">{formatDuration(s.durationNs)}</span> · {s.spanCount.toLocaleString('en-US')} spans ·{' '}
        <span style={s.errorCount ? { color: ERROR_COLOR } : undefined}>{s.errorCount} errors</span>
      </div>
    </div>
  );
}

function Comparison({ a, b }: { a: SpanTree; b: SpanTree }) {
  const c = useMemo(() => compareTraces(a, b), [a, b]);
  const colors = useMemo(() => viewServiceColors(c.rows.map((r) => r.service)), [c]);
  const [changedOnly, setChangedOnly] = useState(false);
  const rows = changedOnly ? c.rows.filter(changed) : c.rows;
  const shown = rows.slice(0, MAX_ROWS);
  return (
    <div className="compare-page page-pad" data-testid="compare-page">
      <div className="cmp-head">
        <Side label="A" tree={a} />
        <div className="cmp-delta-total">
          <div className="muted small">B − A</div>
          <div className={deltaClass(c.durationB - c.durationA)} data-testid="compare-total-delta">
            {formatDelta(c.durationB - c.durationA, formatDuration)}
          </div>
        </div>
        <Side label="B" tree={b} />
      </div>
      <div className="toolbar small">
        <span data-testid="compare-summary">
          {c.rows.length.toLocaleString('en-US')} operation paths · {c.onlyA} only in A · {c.onlyB} only in B
        </span>
        <label>
          <input type="checkbox" checked={changedOnly} onChange={(e) => setChangedOnly(e.target.checked)} data-testid="compare-changed-only" /> changed only
        </label>
      </div>
      <table className="cmp-table">
        <thead>
          <tr>
            <th>Operation</th>
            <th className="num">Spans A</th>
            <th className="num">Spans B</th>
            <th className="num">Time A</th>
            <th className="num">Time B</th>
            <th className="num">B − A</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <Row key={r.id} r={r} color={colors(r.service)} />
          ))}
        </tbody>
      </table>
      {rows.length > shown.length && (
        <p className="muted small" data-testid="compare-truncated">
          {(rows.length - shown.length).toLocaleString('en-US')} more paths not shown.
        </p>
      )}
    </div>
  );
}

/** A path whose spans, time or errors differ between the traces. */
function changed(r: CompareRow): boolean {
  return r.presence !== 'both' || r.a.spans !== r.b.spans || r.a.errors !== r.b.errors || r.deltaNs !== 0n;
}

function deltaClass(ns: bigint): string {
  return ns > 0n ? 'cmp-slower' : ns < 0n ? 'cmp-faster' : 'muted';
}

function Row({ r, color }: { r: CompareRow; color: string }) {
  const time = (side: CompareRow['a']) => (side.spans ? formatDuration(side.totalNs) : '–');
  const count = (side: CompareRow['a']) => (side.spans ? side.spans.toLocaleString('en-US') + (side.errors ? ` (${side.errors} err)` : '') : '–');
  return (
    <tr className={`cmp-row cmp-${r.presence}`} data-testid="compare-row" data-path={`${r.depth}:${r.service}:${r.name}`} data-presence={r.presence} data-delta-ns={String(r.deltaNs)}>
      <td>
        <span style={{ paddingLeft: r.depth * 14 }} />
        <span className="wf-color" style={{ background: color }} /> <span className="muted">{r.service}:</span> {r.name}
        {r.presence !== 'both' && <span className="cmp-badge">{r.presence === 'onlyA' ? 'only in A' : 'only in B'}</span>}
      </td>
      <td className="num" data-testid="compare-spans-a">
        {count(r.a)}
      </td>
      <td className="num" data-testid="compare-spans-b">
        {count(r.b)}
      </td>
      <td className="num">{time(r.a)}</td>
      <td className="num">{time(r.b)}</td>
      <td className={`num ${deltaClass(r.deltaNs)}`}>{formatDelta(r.deltaNs, formatDuration)}</td>
    </tr>
  );
}

/** "Compare with…": a trace id box that opens /compare/<this>/<other>. */
export function CompareWithForm({ traceId }: { traceId: string }) {
  const navigate = useNavigate();
  const [other, setOther] = useState('');
  const [invalid, setInvalid] = useState(false);
  return (
    <form
      className="compare-with"
      onSubmit={(e) => {
        e.preventDefault();
        const id = normalizeTraceId(other);
        if (!id) {
          setInvalid(true);
          return;
        }
        navigate(`/compare/${traceId}/${id}`);
      }}
    >
      <input
        placeholder="Compare with trace id…"
        aria-label="Compare with trace id"
        aria-invalid={invalid}
        value={other}
        onChange={(e) => {
          setOther(e.target.value);
          setInvalid(false);
        }}
        data-testid="compare-with-input"
      />
      <button type="submit" data-testid="compare-with-go">
        Compare
      </button>
      {invalid && <span className="error-text small">not a trace id (32 hex digits)</span>}
    </form>
  );
}
