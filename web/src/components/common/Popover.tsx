// A panel anchored under its trigger that closes on Escape or a click outside.
import { useEffect, useRef, type ReactNode } from 'react';

export function Popover({ onClose, children, className }: { onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // The event's path is fixed when it is dispatched: a click on an element that the same click
    // removes (a suggestion list closing) still counts as inside.
    const onDown = (e: MouseEvent) => {
      if (ref.current && !e.composedPath().includes(ref.current)) onClose();
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('mousedown', onDown, true);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown, true);
      document.removeEventListener('keydown', onKey);
    };
  }, [onClose]);
  return (
    <div ref={ref} className={`popover ${className ?? ''}`} role="dialog">
      {children}
    </div>
  );
}
