import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeAuthServer, UNAUTHORIZED_BODY } from '../test/authServer';
import {
  getApiToken,
  getAuthState,
  noteUnauthorized,
  resetAuthForTests,
  signIn,
  signOut,
  subscribeAuth,
  TOKEN_STORAGE_KEY,
  tokenProblem,
} from './auth';
import { ApiError, getTags, searchSpans, shouldRetry } from './client';

beforeEach(() => resetAuthForTests());
afterEach(() => vi.unstubAllGlobals());

describe('the token store', () => {
  it('keeps the token in sessionStorage under teletrace.apiToken, trimmed, until sign-out', () => {
    expect(TOKEN_STORAGE_KEY).toBe('teletrace.apiToken');
    expect(getApiToken()).toBeNull();
    signIn('  s3cret-token \n');
    expect(sessionStorage.getItem('teletrace.apiToken')).toBe('s3cret-token');
    expect(getApiToken()).toBe('s3cret-token');
    expect(getAuthState()).toEqual({ prompt: 'none', signedIn: true });
    signOut();
    expect(sessionStorage.getItem('teletrace.apiToken')).toBeNull();
    expect(getApiToken()).toBeNull();
    expect(getAuthState()).toEqual({ prompt: 'none', signedIn: false });
  });

  it('reads a token stored earlier in the tab (a reload)', () => {
    sessionStorage.setItem('teletrace.apiToken', 'from-before');
    expect(getApiToken()).toBe('from-before');
  });

  it('ignores a stored value that could not be sent as a header', () => {
    sessionStorage.setItem('teletrace.apiToken', 'line\nbreak');
    expect(getApiToken()).toBeNull();
  });

  it('says which tokens cannot be sent', () => {
    expect(tokenProblem('')).toBe('Enter the access token');
    const ascii = 'An access token consists of printable ASCII characters (letters, digits, punctuation)';
    expect(tokenProblem('tökén')).toBe(ascii);
    expect(tokenProblem('a\tb')).toBe(ascii);
    expect(tokenProblem(' lead')).toBe(ascii);
    expect(tokenProblem('abc.DEF-123_~+/=')).toBeNull();
    expect(tokenProblem('two words')).toBeNull();
  });

  it('asks for a token after a 401 without one, and says a sent token was rejected', () => {
    const seen: string[] = [];
    const unsubscribe = subscribeAuth(() => seen.push(getAuthState().prompt));
    expect(noteUnauthorized(null)).toBe('fail');
    expect(getAuthState()).toEqual({ prompt: 'required', signedIn: false });
    signIn('wrong');
    expect(noteUnauthorized('wrong')).toBe('fail');
    expect(getAuthState()).toEqual({ prompt: 'rejected', signedIn: false });
    expect(sessionStorage.getItem('teletrace.apiToken')).toBeNull();
    // A request sent without a token after the rejection must not hide the "rejected" message.
    expect(noteUnauthorized(null)).toBe('fail');
    expect(getAuthState().prompt).toBe('rejected');
    unsubscribe();
    expect(seen).toEqual(['required', 'none', 'rejected']);
  });

  it('retries once with a token stored while a request was in flight', () => {
    signIn('new');
    expect(noteUnauthorized(null)).toBe('retry');
    expect(noteUnauthorized('old')).toBe('retry');
    expect(getAuthState()).toEqual({ prompt: 'none', signedIn: true });
    expect(getApiToken()).toBe('new');
  });

  it('asks again (not "rejected") for a request that was in flight across a sign-out', () => {
    signIn('t');
    signOut();
    expect(noteUnauthorized('t')).toBe('fail');
    expect(getAuthState()).toEqual({ prompt: 'required', signedIn: false });
  });
});

describe('the client with a token-protected server', () => {
  it('sends no Authorization header without a token, and nothing changes when the server needs none', async () => {
    const server = fakeAuthServer(null);
    vi.stubGlobal('fetch', server.fetch);
    expect((await getTags()).Tags).toEqual([{ name: 'span.name', type: 'Str' }]);
    expect(server.requests).toEqual([{ path: '/v1/tags', authorization: null }]);
    expect(getAuthState()).toEqual({ prompt: 'none', signedIn: false });
  });

  it('turns a 401 into an ApiError and asks for the token', async () => {
    vi.stubGlobal('fetch', fakeAuthServer('right').fetch);
    const err = await getTags().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).message).toBe(
      `${JSON.parse(UNAUTHORIZED_BODY).errorMessage}: sign in with the server's access token`,
    );
    expect(getAuthState().prompt).toBe('required');
  });

  it('sends the stored token as a bearer token on GET and POST', async () => {
    const server = fakeAuthServer('right', '{"metadata":null,"spans":[]}');
    vi.stubGlobal('fetch', server.fetch);
    signIn('right');
    await searchSpans({ pageSize: 1 });
    expect(server.requests).toEqual([{ path: '/v1/search', authorization: 'Bearer right' }]);
    const init = server.fetch.mock.calls[0]![1]!;
    expect(new Headers(init.headers).get('content-type')).toBe('application/json');
  });

  it('clears a rejected token and reports it', async () => {
    const server = fakeAuthServer('right');
    vi.stubGlobal('fetch', server.fetch);
    signIn('wrong');
    await expect(getTags()).rejects.toMatchObject({ status: 401 });
    expect(server.requests).toEqual([{ path: '/v1/tags', authorization: 'Bearer wrong' }]);
    expect(sessionStorage.getItem('teletrace.apiToken')).toBeNull();
    expect(getAuthState()).toEqual({ prompt: 'rejected', signedIn: false });
    signIn('right');
    expect((await getTags()).Tags).toHaveLength(1);
    expect(getAuthState()).toEqual({ prompt: 'none', signedIn: true });
  });

  it('resends a request with the token stored while it was in flight, once', async () => {
    const server = fakeAuthServer('right');
    const inner = server.fetch.getMockImplementation()!;
    let first = true;
    server.fetch.mockImplementation(async (input, init) => {
      const res = await inner(input, init);
      if (first) {
        first = false;
        signIn('right'); // the user signed in while this request was on its way
      }
      return res;
    });
    vi.stubGlobal('fetch', server.fetch);
    expect((await getTags()).Tags).toHaveLength(1);
    expect(server.requests.map((r) => r.authorization)).toEqual([null, 'Bearer right']);
    expect(getAuthState()).toEqual({ prompt: 'none', signedIn: true });
  });

  it('does not retry 401 or 400 in React Query, but does retry a 500 once', () => {
    expect(shouldRetry(0, new ApiError('x', 401))).toBe(false);
    expect(shouldRetry(0, new ApiError('x', 400))).toBe(false);
    expect(shouldRetry(0, new ApiError('x', 500))).toBe(true);
    expect(shouldRetry(1, new ApiError('x', 500))).toBe(false);
  });
});
