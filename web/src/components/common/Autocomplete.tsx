// A text input with a suggestion list (ARIA combobox): type to filter, arrows to move, Enter or a
// click to pick, Escape to close. The caller filters the options; this only presents them.
import { useId, useState, type ReactNode, type KeyboardEvent } from 'react';

export interface Option {
  value: string;
  label?: ReactNode;
  /** Shown at the right, e.g. a type or a count. */
  hint?: ReactNode;
}

interface Props {
  value: string;
  onChange: (text: string) => void;
  options: Option[];
  onSelect: (value: string) => void;
  /** Enter with no option highlighted. */
  onEnter?: () => void;
  placeholder?: string;
  ariaLabel: string;
  testId?: string;
  autoFocus?: boolean;
  loading?: boolean;
  footer?: ReactNode;
}

export function Autocomplete({
  value,
  onChange,
  options,
  onSelect,
  onEnter,
  placeholder,
  ariaLabel,
  testId,
  autoFocus,
  loading,
  footer,
}: Props) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const listId = useId();

  const pick = (v: string) => {
    onSelect(v);
    setOpen(false);
    setActive(-1);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(options.length - 1, a + 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(-1, a - 1));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (open && active >= 0 && active < options.length) pick(options[active].value);
      else {
        setOpen(false);
        onEnter?.();
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.stopPropagation();
        setOpen(false);
      }
    }
  };

  return (
    <div className="autocomplete">
      <input
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-label={ariaLabel}
        aria-activedescendant={active >= 0 ? `${listId}-${active}` : undefined}
        placeholder={placeholder}
        value={value}
        autoFocus={autoFocus}
        data-testid={testId}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => {
          onChange(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      {open && (options.length > 0 || loading) && (
        <ul className="autocomplete-list" role="listbox" id={listId} data-testid={testId ? `${testId}-options` : undefined}>
          {options.map((o, i) => (
            <li
              key={o.value}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(o.value);
              }}
              onMouseEnter={() => setActive(i)}
              data-value={o.value}
            >
              <span className="option-label">{o.label ?? o.value}</span>
              {o.hint !== undefined && <span className="option-hint">{o.hint}</span>}
            </li>
          ))}
          {loading && <li className="muted">Loading…</li>}
          {footer && <li className="muted autocomplete-footer">{footer}</li>}
        </ul>
      )}
    </div>
  );
}
