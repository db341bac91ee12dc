// Attributes as a key/value table, keys sorted; nested values shown as JSON.
import type { AttributeValue, Attributes } from '../../../api/types';
import { attributeText } from '../../../model/span';

function valueClass(v: AttributeValue): string {
  if (typeof v === 'string') return 'v-str';
  if (typeof v === 'number' || typeof v === 'bigint') return 'v-num';
  if (typeof v === 'boolean') return 'v-bool';
  return 'v-json';
}

export function AttributeTable({ attributes, empty = 'No attributes', testId }: { attributes: Attributes | undefined; empty?: string; testId?: string }) {
  const keys = Object.keys(attributes ?? {}).sort();
  if (!attributes || keys.length === 0) return <div className="muted small">{empty}</div>;
  return (
    <table className="attr-table" data-testid={testId}>
      <tbody>
        {keys.map((k) => {
          const v = attributes[k];
          return (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td className={valueClass(v)}>
                {typeof v === 'object' && v !== null ? <pre>{JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2)}</pre> : attributeText(v)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
