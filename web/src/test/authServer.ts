// A fake fetch for the API as the server answers when `auth.api_token` is set: 401 with
// `WWW-Authenticate: Bearer realm="teletrace"` and the exact error body unless the request carries
// `Authorization: Bearer <token>`. `token: null` is a server without a token configured.
import { vi } from 'vitest';

export const UNAUTHORIZED_BODY = '{"errorMessage":"missing or invalid bearer token"}';
export const TAGS_BODY = '{"Tags":[{"name":"span.name","type":"Str"}]}';

export interface FakeRequest {
  path: string;
  authorization: string | null;
}

export function fakeAuthServer(token: string | null, body = TAGS_BODY) {
  const requests: FakeRequest[] = [];
  const server = {
    token,
    requests,
    fetch: vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      const authorization = headers.get('authorization');
      requests.push({ path: String(input), authorization });
      if (server.token !== null && authorization !== `Bearer ${server.token}`) {
        return new Response(UNAUTHORIZED_BODY, {
          status: 401,
          headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="teletrace"' },
        });
      }
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    }),
  };
  return server;
}
