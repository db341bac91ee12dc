// The API access token and whether the user must be asked for it. No React here: the client
// (api/client.ts) reads the token for every request and reports 401 answers; the sign-in dialog
// (components/Layout/SignIn.tsx) subscribes to the state.
//
// A server started with `auth.api_token` answers every /v1 request without the right
// `Authorization: Bearer <token>` with 401. The token is kept in sessionStorage, so it lasts as
// long as the tab and is never written to disk by us or shared with other tabs; when storage is
// unavailable (disabled, sandboxed frame) it lives in memory for the page's life. Without a token
// configured on the server no 401 ever arrives and the user is never asked.

export const TOKEN_STORAGE_KEY = 'teletrace.apiToken';

/** 'none': nothing to ask; 'required': a 401 without a token; 'rejected': the token got a 401. */
export type AuthPrompt = 'none' | 'required' | 'rejected';

export interface AuthState {
  readonly prompt: AuthPrompt;
  /** Whether a token is stored (the "sign out" control is shown). */
  readonly signedIn: boolean;
}

let memoryToken: string | null = null;

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // access denied (e.g. storage disabled)
  }
}

/**
 * Why a token cannot be sent, or null when it can. fetch() refuses header values outside
 * printable Latin-1 (and a newline would end the header), so only printable ASCII is taken.
 */
export function tokenProblem(token: string): string | null {
  if (token.length === 0) return 'Enter the access token';
  if (!/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(token)) {
    return 'An access token consists of printable ASCII characters (letters, digits, punctuation)';
  }
  return null;
}

/** The stored token, or null. A stored value that could not be sent counts as none. */
export function getApiToken(): string | null {
  let token = memoryToken;
  const s = storage();
  if (s) {
    try {
      token = s.getItem(TOKEN_STORAGE_KEY);
    } catch {
      // fall back to the in-memory copy
    }
  }
  return token !== null && tokenProblem(token) === null ? token : null;
}

function storeToken(token: string | null): void {
  memoryToken = token;
  const s = storage();
  if (!s) return;
  try {
    if (token === null) s.removeItem(TOKEN_STORAGE_KEY);
    else s.setItem(TOKEN_STORAGE_KEY, token);
  } catch {
    // quota or access errors: the in-memory copy serves this page
  }
}

let state: AuthState = { prompt: 'none', signedIn: getApiToken() !== null };
const listeners = new Set<() => void>();

function setState(next: AuthState): void {
  if (next.prompt === state.prompt && next.signedIn === state.signedIn) return;
  state = next;
  for (const l of [...listeners]) l();
}

/** The current state; the same object until it changes (for useSyncExternalStore). */
export function getAuthState(): AuthState {
  return state;
}

/** Calls `listener` after every change; returns the unsubscribe function. */
export function subscribeAuth(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Stores a token (trimmed; the caller checked it with tokenProblem) and closes the prompt. */
export function signIn(token: string): void {
  storeToken(token.trim());
  setState({ prompt: 'none', signedIn: true });
}

/** Forgets the token. The next API request answered 401 asks for one again. */
export function signOut(): void {
  storeToken(null);
  setState({ prompt: 'none', signedIn: false });
}

/**
 * Records a 401 answer to a request sent with `sentToken` (null: sent without one). Returns
 * 'retry' when a different token was stored while the request was in flight (send it again with
 * that one); otherwise 'fail', after clearing the rejected token (if it is still the stored one)
 * or asking for a missing one. A later 401 without a token keeps the "rejected" message rather
 * than replacing it; a request that was in flight across a sign-out just asks for a token.
 */
export function noteUnauthorized(sentToken: string | null): 'retry' | 'fail' {
  const current = getApiToken();
  if (current !== null && current !== sentToken) return 'retry';
  if (sentToken !== null && sentToken === current) {
    storeToken(null);
    setState({ prompt: 'rejected', signedIn: false });
  } else if (state.prompt === 'none') {
    setState({ prompt: 'required', signedIn: false });
  }
  return 'fail';
}

/** Back to the state of a fresh page load (tests). */
export function resetAuthForTests(): void {
  memoryToken = null;
  storage()?.removeItem(TOKEN_STORAGE_KEY);
  state = { prompt: 'none', signedIn: false };
  listeners.clear();
}
