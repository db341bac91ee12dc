// Adds result columns for any attribute key.
import { useMemo, useState } from 'react';
import type { TagInfo } from '../../api/types';
import { loadRecentKeys, rememberKey, splitKey, suggestKeys } from '../../model/filters';
import { Autocomplete } from '../common/Autocomplete';
import { Popover } from '../common/Popover';

export function ColumnPicker({ tags, columns, onAdd }: { tags: readonly TagInfo[] | undefined; columns: string[]; onAdd: (key: string) => void }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const keys = useMemo(() => [...new Set((tags ?? []).map((t) => t.name))].filter((k) => !columns.includes(k)), [tags, columns]);
  const add = (k: string) => {
    rememberKey(k);
    onAdd(k);
    setText('');
    setOpen(false);
  };
  return (
    <div className="popover-anchor">
      <button type="button" onClick={() => setOpen(!open)} data-testid="add-column">
        + Column
      </button>
      {open && (
        <Popover onClose={() => setOpen(false)} className="column-popover">
          <label className="field">
            <span>Show a column for</span>
            <Autocomplete
              value={text}
              onChange={setText}
              options={suggestKeys(keys, loadRecentKeys(), text, 40).map((k) => ({
                value: k,
                label: (
                  <>
                    <span className={`level-badge level-${splitKey(k).level}`}>{splitKey(k).level}</span> {splitKey(k).name}
                  </>
                ),
              }))}
              onSelect={add}
              onEnter={() => text.trim() && add(text.trim())}
              ariaLabel="Column key"
              placeholder="Attribute key…"
              testId="column-key"
              autoFocus
            />
          </label>
        </Popover>
      )}
    </div>
  );
}
