// Signing in with the API access token: the dialog shown when the server answers 401, and the
// "sign out" control. The token itself and the decision to ask live in api/auth.ts.
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { getAuthState, signIn, signOut, subscribeAuth, tokenProblem, type AuthState } from '../../api/auth';

export function useAuthState(): AuthState {
  return useSyncExternalStore(subscribeAuth, getAuthState);
}

/**
 * The modal that asks for the access token. `prompt` says why: no token yet ('required') or the
 * server refused the one given ('rejected'). Calls `onSignIn` with the trimmed token once it is
 * one that can be sent.
 */
export function SignInDialog({
  prompt,
  onSignIn,
}: {
  prompt: 'required' | 'rejected';
  onSignIn: (token: string) => void;
}) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  useEffect(() => input.current?.focus(), [prompt]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const token = text.trim();
    const why = tokenProblem(token);
    setProblem(why);
    if (why === null) {
      setText('');
      onSignIn(token);
    }
  };
  return (
    <div className="modal-backdrop">
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-why`}
        data-testid="signin-dialog"
      >
        <h2 id={`${id}-title`}>Sign in to Teletrace</h2>
        {prompt === 'rejected' && (
          <p className="modal-error" role="alert" data-testid="signin-rejected">
            The server rejected the access token. Check it and enter it again.
          </p>
        )}
        <p id={`${id}-why`}>
          This Teletrace server requires an access token for its API. The token is the value of the
          server's <code>auth.api_token</code> setting (the <code>--auth.api_token</code> flag, or{' '}
          <code>api_token</code> under <code>auth:</code> in its YAML configuration); ask whoever runs
          the server for it.
        </p>
        <form onSubmit={submit} noValidate>
          <label htmlFor={`${id}-token`}>Access token</label>
          <input
            id={`${id}-token`}
            ref={input}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setProblem(null);
            }}
            aria-invalid={problem !== null}
            aria-describedby={problem ? `${id}-problem` : undefined}
            data-testid="signin-token"
          />
          {problem && (
            <p id={`${id}-problem`} className="modal-error" role="alert" data-testid="signin-problem">
              {problem}
            </p>
          )}
          <p className="modal-note">Kept in this browser tab only, until you sign out or close the tab.</p>
          <div className="modal-actions">
            <button type="submit" className="primary" data-testid="signin-submit">
              Sign in
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}

/**
 * The dialog wired to the app: shown while a token is missing or rejected; signing in stores the
 * token and refetches the queries that failed, so the page shows its data.
 */
export function SignIn() {
  const { prompt } = useAuthState();
  const queryClient = useQueryClient();
  if (prompt === 'none') return null;
  return (
    <SignInDialog
      prompt={prompt}
      onSignIn={(token) => {
        signIn(token);
        void queryClient.refetchQueries({ type: 'active', predicate: (q) => q.state.status === 'error' });
      }}
    />
  );
}

/** "Sign out", shown while a token is stored: forgets it and drops every cached answer. */
export function SignOutButton() {
  const { signedIn } = useAuthState();
  const queryClient = useQueryClient();
  if (!signedIn) return null;
  return (
    <button
      type="button"
      className="small"
      onClick={() => {
        signOut();
        void queryClient.resetQueries();
      }}
      title="Forget the access token in this tab"
      data-testid="signout"
    >
      Sign out
    </button>
  );
}
