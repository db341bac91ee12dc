// The trace view: header, then the waterfall with its minimap and the selected span's details,
// or the service graph. The selected span and the view are in the URL (/trace/<id>?spanId=..),
// so a deep link opens focused on a span and survives a reload.
import { useCallback, useDeferredValue, useEffect, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useTrace } from '../../api/hooks';
import { criticalPath, segmentsByKey } from '../../model/criticalPath';
import { normalizeTraceId } from '../../model/ids';
import { viewServiceColors } from '../../model/colors';
import { fromInternalSpan, serviceLabel } from '../../model/span';
import { ancestorsOf, buildSpanTree, summarizeTrace, visibleNodes } from '../../model/spanTree';
import { searchTrace } from '../../model/traceSearch';
import { CompareWithForm } from '../ComparePage/ComparePage';
import { ErrorMessage } from '../common/ErrorMessage';
import { useDebouncedValue } from '../common/useDebouncedValue';
import { useTheme } from '../Layout/theme';
import { TraceServiceGraph } from './ServiceGraph/ServiceGraph';
import { SpanDetails } from './SpanDetails/SpanDetails';
import { Minimap } from './Timeline/Minimap';
import { Waterfall } from './Timeline/Waterfall';
import { TraceHeader } from './TraceHeader';
import { ServiceColorContext } from './serviceColors';

/** How long typing in "Find in trace" must pause before matches are looked for. */
const SEARCH_DEBOUNCE_MS = 150;

export function TracePage() {
  const { traceId: rawId = '' } = useParams();
  const traceId = normalizeTraceId(rawId);
  if (!traceId) {
    return (
      <div className="page-message" data-testid="trace-invalid">
        <h2>“{rawId}” is not a trace id</h2>
        <p>A trace id is 32 hexadecimal digits.</p>
        <Link to="/">Back to search</Link>
      </div>
    );
  }
  return <TraceLoader traceId={traceId} />;
}

function TraceLoader({ traceId }: { traceId: string }) {
  const q = useTrace(traceId);
  if (q.isPending) {
    return (
      <div className="page-message" data-testid="trace-loading">
        <span className="spinner" /> Loading trace {traceId}… {q.loaded > 0 && `${q.loaded.toLocaleString('en-US')} spans`}
      </div>
    );
  }
  if (q.isError) {
    return (
      <div className="page-pad">
        <ErrorMessage error={q.error} title={`Could not load trace ${traceId}`} />
      </div>
    );
  }
  if (q.data.length === 0) {
    return (
      <div className="page-message" data-testid="trace-not-found">
        <h2>Trace not found</h2>
        <p className="mono">{traceId}</p>
        <p>No span of this trace is stored (it may not have arrived yet, or retention removed it).</p>
        <Link to="/">Back to search</Link>
      </div>
    );
  }
  return <TraceView traceId={traceId} spans={q.data} />;
}

function TraceView({ traceId, spans }: { traceId: string; spans: Parameters<typeof fromInternalSpan>[0][] }) {
  const [params, setParams] = useSearchParams();
  const { theme } = useTheme();
  const tree = useMemo(() => buildSpanTree(spans.map(fromInternalSpan)), [spans]);
  const summary = useMemo(() => summarizeTrace(tree)!, [tree]);
  const colors = useMemo(() => viewServiceColors(tree.nodes.map((n) => serviceLabel(n.span))), [tree]);
  const view = params.get('view') === 'graph' ? 'graph' : 'timeline';

  const spanParam = params.get('spanId');
  const selectedKey = spanParam && tree.byKey.has(spanParam) ? spanParam : null;
  const setParam = useCallback(
    (name: string, value: string | null) =>
      setParams(
        (p) => {
          const next = new URLSearchParams(p);
          if (value === null) next.delete(name);
          else next.set(name, value);
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
  const select = useCallback((key: string | null) => setParam('spanId', key), [setParam]);

  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const rows = useMemo(() => visibleNodes(tree, collapsed), [tree, collapsed]);
  const toggle = useCallback(
    (key: string) =>
      setCollapsed((c) => {
        const next = new Set(c);
        if (next.has(key)) next.delete(key);
        else next.add(key);
        return next;
      }),
    [],
  );
  const collapseAll = () => setCollapsed(new Set(tree.nodes.filter((n) => n.children.length > 0 && n.parent).map((n) => n.key)));
  const expandAll = () => setCollapsed(new Set());

  const [scrollTo, setScrollTo] = useState<{ key: string; seq: number } | null>(null);
  const reveal = useCallback(
    (key: string) => {
      const node = tree.byKey.get(key);
      if (!node) return;
      const hidden = ancestorsOf(node).filter((a) => collapsed.has(a.key));
      if (hidden.length) {
        setCollapsed((c) => {
          const next = new Set(c);
          for (const a of hidden) next.delete(a.key);
          return next;
        });
      }
      setScrollTo((s) => ({ key, seq: (s?.seq ?? 0) + 1 }));
    },
    [tree, collapsed],
  );

  // A deep link's span is scrolled into view once the waterfall is there.
  useEffect(() => {
    if (selectedKey) reveal(selectedKey);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tree]);

  const [showCritical, setShowCritical] = useState(true);
  const critical = useMemo(() => (showCritical ? segmentsByKey(criticalPath(tree)) : null), [tree, showCritical]);

  const [searchText, setSearchText] = useState('');
  // Finding matches walks every span: in a 20,000-span trace once per typed character is too
  // often, so the search waits for a pause in typing (clearing the box applies at once).
  const [debouncedSearch, flushSearch] = useDebouncedValue(searchText, SEARCH_DEBOUNCE_MS);
  const deferredSearch = useDeferredValue(searchText === '' ? '' : debouncedSearch);
  const matchList = useMemo(() => searchTrace(tree, deferredSearch), [tree, deferredSearch]);
  const searchPending = deferredSearch !== searchText;
  const matches = useMemo(() => new Set(matchList), [matchList]);
  const [matchIndex, setMatchIndex] = useState(0);
  useEffect(() => setMatchIndex(0), [matchList]);
  const currentMatch = matchList.length ? matchList[Math.min(matchIndex, matchList.length - 1)] : null;
  const step = (d: number) => {
    let [list, index, current] = [matchList, matchIndex, currentMatch];
    if (searchPending) {
      // Enter before the pause: search the text as typed now, and start at its first match.
      list = searchTrace(tree, searchText);
      [index, current] = [0, null];
      flushSearch();
    }
    if (!list.length) return;
    // The first step goes to the current match itself; later steps move from it.
    const onMatch = selectedKey !== null && selectedKey === current;
    const i = onMatch ? (index + d + list.length) % list.length : Math.min(index, list.length - 1);
    setMatchIndex(i);
    select(list[i]);
    reveal(list[i]);
  };

  const [zoom, setZoom] = useState<[number, number]>([0, 1]);
  const selectedNode = selectedKey ? tree.byKey.get(selectedKey) : undefined;

  return (
    <ServiceColorContext.Provider value={colors}>
      <div className="trace-page" data-testid="trace-page" data-trace-id={traceId}>
        <TraceHeader summary={summary} tree={tree} />
        <div className="toolbar trace-toolbar">
          <div className="segmented" role="tablist" aria-label="View">
            <button type="button" role="tab" aria-selected={view === 'timeline'} className={view === 'timeline' ? 'selected' : undefined} onClick={() => setParam('view', null)} data-testid="view-timeline">
              Timeline
            </button>
            <button type="button" role="tab" aria-selected={view === 'graph'} className={view === 'graph' ? 'selected' : undefined} onClick={() => setParam('view', 'graph')} data-testid="view-graph">
              Service graph
            </button>
          </div>
          {view === 'timeline' && (
            <>
              <form
                className="trace-search"
                role="search"
                onSubmit={(e) => {
                  e.preventDefault();
                  step(1);
                }}
              >
                <input
                  placeholder="Find in trace: name, service, attribute (key=value)…"
                  aria-label="Find in trace"
                  value={searchText}
                  onChange={(e) => setSearchText(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' && e.shiftKey) {
                      e.preventDefault();
                      step(-1);
                    }
                  }}
                  data-testid="trace-search"
                />
                {searchText && (
                  <span className="small muted" data-testid="trace-search-count">
                    {searchPending ? '…' : matchList.length ? `${Math.min(matchIndex, matchList.length - 1) + 1} of ${matchList.length}` : 'no matches'}
                  </span>
                )}
                <button type="button" className="small" onClick={() => step(-1)} disabled={!matchList.length && !searchPending} aria-label="Previous match">
                  ↑
                </button>
                <button type="button" className="small" onClick={() => step(1)} disabled={!matchList.length && !searchPending} aria-label="Next match">
                  ↓
                </button>
              </form>
              <label className="check">
                <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical(e.target.checked)} data-testid="critical-toggle" />
                Critical path
              </label>
              <button type="button" className="small" onClick={expandAll} data-testid="expand-all">
                Expand all
              </button>
              <button type="button" className="small" onClick={collapseAll} data-testid="collapse-all">
                Collapse all
              </button>
            </>
          )}
          <CompareWithForm traceId={traceId} />
        </div>
        {view === 'graph' ? (
          <TraceServiceGraph tree={tree} />
        ) : (
          <div className={`trace-body${selectedNode ? ' with-details' : ''}`}>
            <div className="timeline">
              <Minimap tree={tree} view={zoom} onView={setZoom} theme={theme} />
              <Waterfall
                tree={tree}
                rows={rows}
                collapsed={collapsed}
                onToggle={toggle}
                selectedKey={selectedKey}
                onSelect={select}
                view={zoom}
                matches={matches}
                currentMatch={currentMatch}
                critical={critical}
                scrollTo={scrollTo}
              />
            </div>
            {selectedNode && <SpanDetails key={selectedNode.key} node={selectedNode} tree={tree} onSelect={(k) => { select(k); reveal(k); }} onClose={() => select(null)} />}
          </div>
        )}
      </div>
    </ServiceColorContext.Provider>
  );
}
