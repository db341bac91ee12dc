import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getAuthState, resetAuthForTests, signIn } from '../../api/auth';
import { getTags, shouldRetry } from '../../api/client';
import { fakeAuthServer } from '../../test/authServer';
import { SignIn, SignInDialog, SignOutButton } from './SignIn';

beforeEach(() => resetAuthForTests());
afterEach(() => vi.unstubAllGlobals());

describe('SignInDialog', () => {
  it('asks for the token in a password field and says where it comes from', () => {
    render(<SignInDialog prompt="required" onSignIn={() => {}} />);
    const dialog = screen.getByRole('dialog', { name: 'Sign in to Teletrace' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    const input = screen.getByLabelText('Access token');
    expect(input.getAttribute('type')).toBe('password');
    expect(document.activeElement).toBe(input);
    expect(dialog.textContent).toContain('auth.api_token');
    expect(dialog.textContent).toContain('--auth.api_token');
    expect(screen.queryByTestId('signin-rejected')).toBeNull();
  });

  it('says the token was rejected', () => {
    render(<SignInDialog prompt="rejected" onSignIn={() => {}} />);
    expect(screen.getByTestId('signin-rejected').textContent).toBe(
      'The server rejected the access token. Check it and enter it again.',
    );
  });

  it('submits the trimmed token, and refuses an empty or unsendable one', () => {
    const onSignIn = vi.fn();
    render(<SignInDialog prompt="required" onSignIn={onSignIn} />);
    const input = screen.getByLabelText('Access token');
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByTestId('signin-problem').textContent).toBe('Enter the access token');
    fireEvent.change(input, { target: { value: 'naïve' } });
    expect(screen.queryByTestId('signin-problem')).toBeNull();
    fireEvent.submit(input);
    expect(screen.getByTestId('signin-problem').textContent).toMatch(/printable ASCII/);
    expect(onSignIn).not.toHaveBeenCalled();
    fireEvent.change(input, { target: { value: '  tok-123 ' } });
    fireEvent.submit(input);
    expect(onSignIn).toHaveBeenCalledExactlyOnceWith('tok-123');
    expect((input as HTMLInputElement).value).toBe('');
  });
});

function Tags() {
  const q = useQuery({ queryKey: ['tags'], queryFn: ({ signal }) => getTags(undefined, signal) });
  if (q.isError) return <p data-testid="error">{q.error.message}</p>;
  if (!q.data) return <p>loading</p>;
  return <p data-testid="tags">{q.data.Tags.map((t) => t.name).join(',')}</p>;
}

function renderApp() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: shouldRetry } } });
  render(
    <QueryClientProvider client={client}>
      <SignIn />
      <SignOutButton />
      <Tags />
    </QueryClientProvider>,
  );
  return client;
}

function enterToken(token: string) {
  fireEvent.change(screen.getByLabelText('Access token'), { target: { value: token } });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('SignIn with the app', () => {
  it('shows no dialog and no sign-out when the server needs no token', async () => {
    vi.stubGlobal('fetch', fakeAuthServer(null).fetch);
    renderApp();
    expect((await screen.findByTestId('tags')).textContent).toBe('span.name');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.queryByTestId('signout')).toBeNull();
  });

  it('asks on a 401, rejects a wrong token, and shows the data with the right one', async () => {
    const server = fakeAuthServer('right');
    vi.stubGlobal('fetch', server.fetch);
    renderApp();
    await screen.findByRole('dialog');
    expect((await screen.findByTestId('error')).textContent).toBe("missing or invalid bearer token: sign in with the server's access token");

    enterToken('wrong');
    await screen.findByTestId('signin-rejected');
    expect(sessionStorage.getItem('teletrace.apiToken')).toBeNull();

    enterToken('right');
    expect((await screen.findByTestId('tags')).textContent).toBe('span.name');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(sessionStorage.getItem('teletrace.apiToken')).toBe('right');
    // One try per step: no token, the wrong one, the right one (401s are not retried blindly).
    expect(server.requests.map((r) => r.authorization)).toEqual([null, 'Bearer wrong', 'Bearer right']);
  });

  it('signs out: forgets the token, drops the data and asks again', async () => {
    const server = fakeAuthServer('right');
    vi.stubGlobal('fetch', server.fetch);
    signIn('right');
    renderApp();
    expect((await screen.findByTestId('tags')).textContent).toBe('span.name');
    expect(screen.queryByRole('dialog')).toBeNull();
    fireEvent.click(screen.getByTestId('signout'));
    expect(sessionStorage.getItem('teletrace.apiToken')).toBeNull();
    await screen.findByRole('dialog');
    expect(screen.queryByTestId('tags')).toBeNull();
    expect(screen.queryByTestId('signout')).toBeNull();
    expect(screen.queryByTestId('signin-rejected')).toBeNull();
    expect(getAuthState()).toEqual({ prompt: 'required', signedIn: false });
  });

  it('asks again, saying so, when the server stops accepting a stored token', async () => {
    const server = fakeAuthServer('right');
    vi.stubGlobal('fetch', server.fetch);
    signIn('right');
    const client = renderApp();
    await screen.findByTestId('tags');
    server.token = 'rotated';
    await act(() => client.refetchQueries());
    await screen.findByTestId('signin-rejected');
    expect(sessionStorage.getItem('teletrace.apiToken')).toBeNull();
  });
});
