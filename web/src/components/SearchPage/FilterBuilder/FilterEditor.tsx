// Edits one filter: a key from the discovered tags (recently used first), an operator that fits
// the key's type, and a value with suggestions and counts from the server.
import { useMemo, useState } from 'react';
import { useTagValues } from '../../../api/hooks';
import type { Operator, SearchFilter, TagInfo, TagType, Timeframe } from '../../../api/types';
import {
  OPERATOR_LABELS,
  isListOperator,
  loadRecentKeys,
  needsValue,
  operatorsFor,
  parseFilterValue,
  rememberKey,
  splitKey,
  suggestKeys,
  suggestionFooter,
  valueToText,
} from '../../../model/filters';
import type { UiFilter } from '../../../model/searchState';
import { Autocomplete } from '../../common/Autocomplete';

/** How long the server may count values for a suggestion list (a high-cardinality key over a big
 * range would otherwise take seconds); it then answers with the values found so far. */
const SUGGESTION_BUDGET_MS = 300;

export function tagTypeMap(tags: readonly TagInfo[] | undefined): Map<string, TagType> {
  const m = new Map<string, TagType>();
  for (const t of tags ?? []) if (!m.has(t.name)) m.set(t.name, t.type);
  return m;
}

interface Props {
  initial: UiFilter | null;
  tags: readonly TagInfo[] | undefined;
  timeframe: Timeframe;
  /** The other filters in force, so value suggestions count what the search would find. */
  otherFilters: SearchFilter[];
  onSave: (f: UiFilter) => void;
  onCancel: () => void;
}

export function FilterEditor({ initial, tags, timeframe, otherFilters, onSave, onCancel }: Props) {
  const types = useMemo(() => tagTypeMap(tags), [tags]);
  const allKeys = useMemo(() => [...types.keys()], [types]);
  const [recent] = useState(loadRecentKeys);
  const [keyText, setKeyText] = useState(initial?.key ?? '');
  const [key, setKey] = useState<string | null>(initial?.key ?? null);
  const [op, setOp] = useState<Operator>(initial?.operator ?? 'equals');
  const [valueText, setValueText] = useState(valueToText(initial?.value));
  const [error, setError] = useState<string | null>(null);

  const type = key ? types.get(key) : undefined;
  const ops = operatorsFor(type);
  const keyOptions = useMemo(
    () =>
      suggestKeys(allKeys, recent, keyText, 60).map((k) => {
        const { level, name } = splitKey(k);
        return {
          value: k,
          label: (
            <>
              <span className={`level-badge level-${level}`}>{level}</span> {name}
            </>
          ),
          hint: (recent.includes(k) ? 'recent · ' : '') + (types.get(k) ?? ''),
        };
      }),
    [allKeys, recent, keyText, types],
  );

  // Suggestions for the value being typed (the last item of an in-list).
  const listOp = isListOperator(op);
  const lastPart = listOp ? (valueText.split(',').pop() ?? '').trim() : valueText;
  const textual = type === undefined || type === 'Str';
  const suggestFilters = useMemo(() => {
    const f = [...otherFilters];
    if (key && textual && lastPart) f.push({ keyValueFilter: { key, operator: 'contains', value: lastPart } });
    return f;
  }, [otherFilters, key, textual, lastPart]);
  const values = useTagValues(
    key,
    { timeframe, filters: suggestFilters, limit: 25, timeBudgetMs: SUGGESTION_BUDGET_MS },
    !!key && needsValue(op),
  );
  const valueOptions = (values.data?.values ?? []).map((v) => ({
    value: String(v.value),
    hint: v.count.toLocaleString('en-US'),
  }));

  const chooseKey = (k: string) => {
    setKey(k);
    setKeyText(k);
    const allowed = operatorsFor(types.get(k));
    if (!allowed.includes(op)) setOp(allowed[0]);
    setError(null);
  };

  const save = () => {
    const k = key ?? keyText.trim();
    if (!k) {
      setError('Choose a key');
      return;
    }
    const parsed = parseFilterValue(valueText, types.get(k), op);
    if ('error' in parsed) {
      setError(parsed.error);
      return;
    }
    rememberKey(k);
    onSave({ key: k, operator: op, ...(parsed.value !== undefined ? { value: parsed.value } : {}) });
  };

  return (
    <form
      className="filter-editor"
      data-testid="filter-editor"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <label className="field">
        <span>Key</span>
        <Autocomplete
          value={keyText}
          onChange={(t) => {
            setKeyText(t);
            setKey(types.has(t) ? t : null);
          }}
          options={keyOptions}
          onSelect={chooseKey}
          placeholder="e.g. http.route"
          ariaLabel="Filter key"
          testId="filter-key"
          autoFocus={!initial}
        />
      </label>
      <label className="field">
        <span>Operator</span>
        <select value={op} onChange={(e) => setOp(e.target.value as Operator)} aria-label="Operator" data-testid="filter-operator">
          {ops.map((o) => (
            <option key={o} value={o}>
              {OPERATOR_LABELS[o]}
            </option>
          ))}
        </select>
      </label>
      {needsValue(op) && (
        <label className="field">
          <span>{listOp ? 'Values (comma-separated)' : 'Value'}</span>
          <Autocomplete
            value={valueText}
            onChange={(t) => {
              setValueText(t);
              setError(null);
            }}
            options={valueOptions}
            onSelect={(v) => {
              if (listOp) {
                const parts = valueText.split(',').map((p) => p.trim());
                parts[parts.length - 1] = v;
                setValueText(parts.filter(Boolean).join(', ') + ', ');
              } else {
                setValueText(v);
              }
            }}
            onEnter={save}
            placeholder={type === 'Int' || type === 'Double' ? 'a number' : type === 'Bool' ? 'true or false' : 'text'}
            ariaLabel="Filter value"
            testId="filter-value"
            autoFocus={!!initial}
            loading={values.isFetching && valueOptions.length === 0}
            footer={values.data && suggestionFooter(valueOptions.length, values.data.totalDistinctValues, values.data.partial ?? false, SUGGESTION_BUDGET_MS)}
          />
        </label>
      )}
      {error && (
        <div className="form-error" role="alert">
          {error}
        </div>
      )}
      <div className="popover-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid="filter-apply">
          {initial ? 'Update filter' : 'Add filter'}
        </button>
      </div>
    </form>
  );
}
