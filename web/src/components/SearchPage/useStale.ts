// Whether the results on screen belong to another search than `identity` while it loads (React
// Query's keepPreviousData): a refresh of the same search keeps its rows usable, a changed search
// does not, so a click meant for the new results cannot open one of the old ones.
import { useEffect, useState } from 'react';

export function useStale(query: { data: unknown; isPlaceholderData: boolean }, identity: string): boolean {
  const [settledIdentity, setSettledIdentity] = useState<string | null>(null);
  useEffect(() => {
    if (query.data && !query.isPlaceholderData) setSettledIdentity(identity);
  }, [query.data, query.isPlaceholderData, identity]);
  return query.isPlaceholderData && settledIdentity !== identity;
}
