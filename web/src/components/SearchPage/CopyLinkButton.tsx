// "Copy link": the page's URL with a relative time range pinned to absolute times, so the rows a
// colleague sees, later or in another time zone, are the rows on this screen.
import { useEffect, useState } from 'react';
import { absoluteSearchLink } from '../../model/shareLink';
import { copyToClipboard } from '../common/CopyButton';

/**
 * `nowMs`: the instant the search on screen ended at for a relative range (the page's time
 * anchor); without it, the moment of the click.
 */
export function CopyLinkButton({ nowMs }: { nowMs?: number }) {
  // The last link copied, also on the button as data-href (what was copied, for tests and for
  // anyone reading the DOM), and a short "Copied" to say it worked.
  const [href, setHref] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = async () => {
    const link = absoluteSearchLink(window.location.href, nowMs ?? Date.now());
    setHref(link);
    await copyToClipboard(link);
    setCopied(true);
  };
  return (
    <button
      type="button"
      className="copy-link"
      onClick={() => void copy()}
      title="Copy a link to this search with the time range as absolute times"
      data-testid="copy-link"
      data-href={href ?? undefined}
    >
      {copied ? '✓ Copied' : 'Copy link'}
    </button>
  );
}
