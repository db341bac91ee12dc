// The frame of every page: brand, navigation, "open trace by id" box, UTC/local time switch,
// theme toggle, sign-out, and the sign-in dialog over everything when the API asks for a token.
import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, NavLink, useNavigate } from 'react-router';
import { normalizeTraceId } from '../../model/ids';
import { SignIn, SignOutButton, useAuthState } from './SignIn';
import { useTheme } from './theme';
import { TimeZoneToggle } from './timeZone';

function TraceIdBox() {
  const navigate = useNavigate();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const id = normalizeTraceId(text);
    if (!id) {
      setError('A trace id is 32 hex digits (16 are padded)');
      return;
    }
    setError(null);
    setText('');
    navigate(`/trace/${id}`);
  };
  return (
    <form className="trace-id-box" onSubmit={submit} role="search">
      <input
        aria-label="Open trace by id"
        placeholder="Open trace by id…"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setError(null);
        }}
        data-testid="trace-id-input"
        spellCheck={false}
      />
      {error && <span className="trace-id-error" role="alert">{error}</span>}
    </form>
  );
}

export function AppShell({ children }: { children: ReactNode }) {
  const { theme, toggle } = useTheme();
  const { prompt } = useAuthState();
  return (
    <>
      <SignIn />
      {/* inert while the dialog is open: no focus or clicks behind the modal */}
      <div className="app" inert={prompt !== 'none'}>
        <header className="app-header">
          <Link to="/" className="brand" aria-label="Teletrace home">
            <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
              <rect width="32" height="32" rx="6" fill="var(--accent)" />
              <rect x="5" y="8" width="18" height="4" rx="2" fill="#fff" />
              <rect x="9" y="14" width="14" height="4" rx="2" fill="#a5d8ff" />
              <rect x="13" y="20" width="14" height="4" rx="2" fill="#ffd43b" />
            </svg>
            Teletrace
          </Link>
          <nav className="app-nav">
            <NavLink to="/" end>
              Search
            </NavLink>
            <NavLink to="/services" data-testid="nav-services">
              Services
            </NavLink>
          </nav>
          <div className="header-spacer" />
          <TraceIdBox />
          <TimeZoneToggle />
          <button
            type="button"
            className="icon-button"
            onClick={toggle}
            aria-label={`Switch to ${theme === 'light' ? 'dark' : 'light'} theme`}
            title={`Switch to ${theme === 'light' ? 'dark' : 'light'} theme`}
            data-testid="theme-toggle"
          >
            {theme === 'light' ? '☾' : '☀'}
          </button>
          <SignOutButton />
        </header>
        <main className="app-main">{children}</main>
      </div>
    </>
  );
}
