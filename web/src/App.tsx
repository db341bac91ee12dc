import { Route, Routes, useLocation, Link } from 'react-router';
import { ComparePage } from './components/ComparePage/ComparePage';
import { ErrorBoundary } from './components/common/ErrorBoundary';
import { AppShell } from './components/Layout/AppShell';
import { SearchPage } from './components/SearchPage/SearchPage';
import { ServicesPage } from './components/ServicesPage/ServicesPage';
import { TracePage } from './components/TraceView/TracePage';

function NotFound() {
  return (
    <div className="page-message">
      <h2>Page not found</h2>
      <p>
        <Link to="/">Go to span search</Link>
      </p>
    </div>
  );
}

export function App() {
  const location = useLocation();
  return (
    <AppShell>
      <ErrorBoundary key={location.pathname}>
        <Routes>
          <Route path="/" element={<SearchPage />} />
          <Route path="/services" element={<ServicesPage />} />
          <Route path="/trace/:traceId" element={<TracePage />} />
          <Route path="/compare/:a/:b" element={<ComparePage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </ErrorBoundary>
    </AppShell>
  );
}
