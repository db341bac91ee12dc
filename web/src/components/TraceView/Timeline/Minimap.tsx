// An overview of the whole trace (every span as a thin line, in waterfall order) with the visible
// time window drawn over it. Drag across it to zoom the waterfall to that window.
import { useEffect, useRef, useState } from 'react';
import { ERROR_COLOR } from '../../../model/colors';
import { useServiceColor } from '../serviceColors';
import { serviceLabel } from '../../../model/span';
import type { SpanTree } from '../../../model/spanTree';

const HEIGHT = 56;

interface Props {
  tree: SpanTree;
  /** Visible window as fractions of the trace's duration. */
  view: [number, number];
  onView: (view: [number, number]) => void;
  theme: string;
}

export function Minimap({ tree, view, onView, theme }: Props) {
  const serviceColor = useServiceColor();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);

  useEffect(() => {
    const canvas = canvasRef.current;
    const box = boxRef.current;
    if (!canvas || !box) return;
    const draw = () => {
      const width = Math.max(1, box.clientWidth);
      const ratio = window.devicePixelRatio || 1;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(HEIGHT * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${HEIGHT}px`;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, width, HEIGHT);
      const total = Number(tree.endNs - tree.startNs) || 1;
      const n = tree.nodes.length;
      const rowH = Math.max(HEIGHT / Math.max(n, 1), 0.5);
      const colors = new Map<string, string>();
      for (let i = 0; i < n; i++) {
        const node = tree.nodes[i];
        const x = (Number(node.startNs - tree.startNs) / total) * width;
        const w = Math.max(1, (Number(node.endNs - node.startNs) / total) * width);
        const service = serviceLabel(node.span);
        let color = colors.get(service);
        if (!color) {
          color = serviceColor(service);
          colors.set(service, color);
        }
        ctx.fillStyle = node.span.statusCode === 'Error' ? ERROR_COLOR : color;
        ctx.fillRect(x, (i / Math.max(n, 1)) * HEIGHT, w, Math.max(rowH, 1));
      }
    };
    draw();
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(draw) : null;
    ro?.observe(box);
    return () => ro?.disconnect();
  }, [tree, theme, serviceColor]);

  const fraction = (clientX: number) => {
    const r = boxRef.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - r.left) / Math.max(r.width, 1)));
  };
  const shown = drag ? ([Math.min(...drag), Math.max(...drag)] as [number, number]) : view;
  const zoomed = view[0] > 0 || view[1] < 1;

  return (
    <div className="minimap-wrap">
      <div
        className="minimap"
        ref={boxRef}
        data-testid="minimap"
        onMouseDown={(e) => {
          e.preventDefault();
          const f = fraction(e.clientX);
          setDrag([f, f]);
        }}
        onMouseMove={(e) => drag && setDrag([drag[0], fraction(e.clientX)])}
        onMouseUp={() => {
          if (drag) {
            const [a, b] = [Math.min(...drag), Math.max(...drag)];
            if (b - a > 0.002) onView([a, b]);
          }
          setDrag(null);
        }}
        onMouseLeave={() => setDrag(null)}
        title="Drag to zoom into a time window"
      >
        <canvas ref={canvasRef} />
        {(zoomed || drag) && (
          <>
            <div className="minimap-shade" style={{ left: 0, width: `${shown[0] * 100}%` }} />
            <div className="minimap-window" style={{ left: `${shown[0] * 100}%`, width: `${(shown[1] - shown[0]) * 100}%` }} />
            <div className="minimap-shade" style={{ left: `${shown[1] * 100}%`, right: 0 }} />
          </>
        )}
      </div>
      <button type="button" className="small" onClick={() => onView([0, 1])} disabled={!zoomed} data-testid="zoom-reset">
        Reset zoom
      </button>
    </div>
  );
}
