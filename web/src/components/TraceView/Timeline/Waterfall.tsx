// The trace waterfall: the span tree as rows (only the visible ones rendered), each with its
// service colour, name and a bar on the trace's time axis; critical-path segments, search
// matches and the selection are drawn over it. Keyboard: ↑/↓ move, ←/→ collapse/expand or go to
// parent/child, Enter or Space toggles, Home/End jump.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent as ReactPointerEvent } from 'react';
import { mergeForDisplay, type CriticalSegment } from '../../../model/criticalPath';
import { ERROR_COLOR } from '../../../model/colors';
import { useServiceColor } from '../serviceColors';
import { formatDuration } from '../../../model/format';
import { serviceLabel } from '../../../model/span';
import type { SpanNode, SpanTree } from '../../../model/spanTree';

export const ROW_HEIGHT = 26;
const NAME_WIDTH_KEY = 'teletrace.nameColumnWidth';
const INDENT = 14;
/** Deeper levels stop indenting so names stay readable in very deep traces. */
const MAX_INDENT_DEPTH = 30;
/** Critical-path marks closer than this (percent of the timeline, ~2 px) are drawn as one. */
const CRITICAL_MERGE_PCT = 0.25;

interface Props {
  tree: SpanTree;
  rows: SpanNode[];
  collapsed: ReadonlySet<string>;
  onToggle: (key: string) => void;
  selectedKey: string | null;
  onSelect: (key: string) => void;
  view: [number, number];
  matches: ReadonlySet<string>;
  currentMatch: string | null;
  critical: Map<string, CriticalSegment[]> | null;
  /** Scroll this row into view whenever `seq` changes. */
  scrollTo: { key: string; seq: number } | null;
}

function loadNameWidth(): number {
  try {
    const v = Number(localStorage.getItem(NAME_WIDTH_KEY));
    if (v >= 160 && v <= 1200) return v;
  } catch {
    // fall through
  }
  return 360;
}

export function Waterfall({ tree, rows, collapsed, onToggle, selectedKey, onSelect, view, matches, currentMatch, critical, scrollTo }: Props) {
  const serviceColor = useServiceColor();
  const scrollRef = useRef<HTMLDivElement>(null);
  const [nameWidth, setNameWidth] = useState(loadNameWidth);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });

  useEffect(() => {
    if (!scrollTo) return;
    const i = rows.findIndex((r) => r.key === scrollTo.key);
    if (i >= 0) virtualizer.scrollToIndex(i, { align: 'center' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scrollTo?.seq]);

  const traceStart = tree.startNs;
  const total = Number(tree.endNs - tree.startNs) || 1;
  const viewStart = view[0] * total;
  const viewLen = Math.max((view[1] - view[0]) * total, 1);
  const pct = (ns: bigint) => ((Number(ns - traceStart) - viewStart) / viewLen) * 100;

  const startResize = (e: ReactPointerEvent) => {
    e.preventDefault();
    const x0 = e.clientX;
    const w0 = nameWidth;
    let last = w0;
    const move = (ev: PointerEvent) => {
      last = Math.min(1200, Math.max(160, w0 + ev.clientX - x0));
      setNameWidth(last);
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      try {
        localStorage.setItem(NAME_WIDTH_KEY, String(last));
      } catch {
        // width just won't persist
      }
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  const selectedIndex = selectedKey ? rows.findIndex((r) => r.key === selectedKey) : -1;
  const go = (i: number) => {
    if (i < 0 || i >= rows.length) return;
    onSelect(rows[i].key);
    virtualizer.scrollToIndex(i, { align: 'auto' });
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const cur = selectedIndex >= 0 ? rows[selectedIndex] : null;
    switch (e.key) {
      case 'ArrowDown':
        go(selectedIndex + 1);
        break;
      case 'ArrowUp':
        go(selectedIndex <= 0 ? 0 : selectedIndex - 1);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1);
        break;
      case 'ArrowRight':
        if (!cur) go(0);
        else if (cur.children.length && collapsed.has(cur.key)) onToggle(cur.key);
        else if (cur.children.length) go(selectedIndex + 1);
        break;
      case 'ArrowLeft':
        if (!cur) break;
        if (cur.children.length && !collapsed.has(cur.key)) onToggle(cur.key);
        else if (cur.parent) go(rows.indexOf(cur.parent));
        break;
      case 'Enter':
      case ' ':
        if (cur && cur.children.length) onToggle(cur.key);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const virtualItems = virtualizer.getVirtualItems();
  const slots = Math.max(virtualItems.length, 1);

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({ f, label: viewStart + f * viewLen === 0 ? '0' : formatDuration(viewStart + f * viewLen) }));

  return (
    <div className="waterfall" style={{ ['--name-width' as string]: `${nameWidth}px` }}>
      <div className="wf-header">
        <div className="wf-name-head">
          Service &amp; operation
          <div className="wf-resize" onPointerDown={startResize} role="separator" aria-orientation="vertical" aria-label="Resize name column" title="Drag to resize" />
        </div>
        <div className="wf-ticks">
          {ticks.map((t) => (
            <span key={t.f} className="wf-tick" style={{ left: `${t.f * 100}%` }}>
              {t.label}
            </span>
          ))}
        </div>
      </div>
      <div
        className="wf-scroll"
        ref={scrollRef}
        tabIndex={0}
        role="tree"
        aria-label="Spans of the trace"
        aria-activedescendant={selectedKey ? `row-${selectedKey}` : undefined}
        onKeyDown={onKeyDown}
        data-testid="waterfall"
        data-row-count={rows.length}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {/* Rows are keyed by their slot in the window, not by span: the row leaving the window
              is the element the row entering it reuses, so scrolling (and a jump across the
              trace) updates elements instead of creating and discarding them. */}
          {virtualItems.map((item) => {
            const node = rows[item.index];
            const span = node.span;
            const service = serviceLabel(span);
            const color = serviceColor(service);
            const error = span.statusCode === 'Error';
            const left = pct(node.startNs);
            const right = pct(node.endNs);
            const barLeft = Math.max(0, Math.min(100, left));
            const barWidth = Math.max(0, Math.min(100, right) - barLeft);
            const isCollapsed = collapsed.has(node.key);
            const segs = critical?.get(node.key);
            // The duration goes after the bar, else before it, else (a bar spanning the row) inside.
            const labelPlace = right <= 78 ? 'after' : barLeft >= 12 ? 'before' : 'inside';
            const classes = ['wf-row'];
            if (node.key === selectedKey) classes.push('selected');
            if (matches.has(node.key)) classes.push('match');
            if (node.key === currentMatch) classes.push('current-match');
            if (error) classes.push('error');
            return (
              <div
                key={item.index % slots}
                id={`row-${node.key}`}
                className={classes.join(' ')}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                role="treeitem"
                aria-level={node.depth + 1}
                aria-expanded={node.children.length ? !isCollapsed : undefined}
                aria-selected={node.key === selectedKey}
                onClick={() => onSelect(node.key)}
                data-testid="waterfall-row"
                data-span-id={span.spanId}
                data-key={node.key}
              >
                <div className="wf-name" style={{ paddingLeft: 6 + Math.min(node.depth, MAX_INDENT_DEPTH) * INDENT }}>
                  {node.children.length > 0 ? (
                    <button
                      type="button"
                      className="wf-toggle"
                      aria-label={isCollapsed ? `Expand ${span.name}` : `Collapse ${span.name}`}
                      onClick={(e) => {
                        e.stopPropagation();
                        onToggle(node.key);
                      }}
                      tabIndex={-1}
                    >
                      {isCollapsed ? '▸' : '▾'}
                    </button>
                  ) : (
                    <span className="wf-toggle-space" />
                  )}
                  <span className="wf-color" style={{ background: color }} />
                  <span className="wf-service">{service}</span>
                  <span className="wf-op" title={span.name}>
                    {span.name}
                  </span>
                  {isCollapsed && <span className="wf-hidden-count">+{node.subtreeSize - 1}</span>}
                  {error && (
                    <span className="wf-error" title="Status: Error" style={{ color: ERROR_COLOR }}>
                      ⚠
                    </span>
                  )}
                  {node.issues.length > 0 && (
                    <span className="wf-issue" title={node.issues.map((i) => ISSUE_TEXT[i]).join('; ')}>
                      ⓘ
                    </span>
                  )}
                </div>
                <div className="wf-bar-cell">
                  {barWidth > 0 || (left >= 0 && left <= 100) ? (
                    <>
                      <div
                        className="wf-bar"
                        style={{ left: `${barLeft}%`, width: `max(${barWidth}%, 2px)`, background: error ? ERROR_COLOR : color }}
                      >
                        {segs &&
                          mergeForDisplay(
                            segs.map((s) => [Math.max(pct(s.startNs), barLeft), Math.min(pct(s.endNs), 100)] as [number, number]).filter(([a, b]) => b > a),
                            CRITICAL_MERGE_PCT,
                          ).map(([a, b], i) => (
                            <span
                              key={i}
                              className="wf-critical"
                              data-testid="critical-segment"
                              style={{ left: `${((a - barLeft) / Math.max(barWidth, 1e-9)) * 100}%`, width: `${((b - a) / Math.max(barWidth, 1e-9)) * 100}%` }}
                            />
                          ))}
                      </div>
                      <span
                        className={`wf-duration${labelPlace === 'inside' ? ' inside' : ''}`}
                        style={
                          labelPlace === 'after'
                            ? { left: `${Math.min(100, barLeft + barWidth)}%`, paddingLeft: 4 }
                            : labelPlace === 'before'
                              ? { right: `${100 - barLeft}%`, paddingRight: 4 }
                              : { right: `${100 - Math.min(100, right)}%`, paddingRight: 4 }
                        }
                      >
                        {formatDuration(node.endNs - node.startNs)}
                      </span>
                    </>
                  ) : null}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

export const ISSUE_TEXT: Record<string, string> = {
  orphan: 'parent span not in this trace',
  cycle: 'parent link forms a cycle; shown as a root',
  duplicate: 'another span has the same span id',
  skew: 'clock skew: shifted to fit inside its parent',
};
