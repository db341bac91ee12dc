// An API or network error as a readable message.
import { ApiError } from '../../api/client';

/**
 * A 400: the request (its filters) is wrong. The search shows that once; the panels built on the
 * same filters (facets, duration) stay quiet instead of repeating it under each of them.
 */
export function isRequestError(error: unknown): boolean {
  return error instanceof ApiError && error.status === 400;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return error.message;
    return `${error.message} (HTTP ${error.status})`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorMessage({ error, title = 'The server returned an error' }: { error: unknown; title?: string }) {
  return (
    <div className="error-banner" role="alert" data-testid="api-error">
      <strong>{title}:</strong> {errorText(error)}
    </div>
  );
}
