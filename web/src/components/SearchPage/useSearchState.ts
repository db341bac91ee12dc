// The search page's state lives in the URL: this hook reads it and writes changes back as new
// history entries (so back/forward walk through searches) or, for typing, as replacements.
import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { parseSearchState, serializeSearchState, type SearchState } from '../../model/searchState';

export type UpdateSearch = (update: (s: SearchState) => SearchState, opts?: { replace?: boolean }) => void;

export function useSearchState(): [SearchState, UpdateSearch] {
  const [params, setParams] = useSearchParams();
  const key = params.toString();
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const state = useMemo(() => parseSearchState(new URLSearchParams(key)), [key]);
  const update = useCallback<UpdateSearch>(
    (fn, opts) => {
      setParams((prev) => serializeSearchState(fn(parseSearchState(prev))), { replace: opts?.replace });
    },
    [setParams],
  );
  return [state, update];
}
