import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { shouldRetry } from './api/client';
import { App } from './App';
import { ThemeProvider } from './components/Layout/theme';
import { TimeZoneProvider } from './components/Layout/timeZone';
import './styles/app.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // API errors are shown to the user at once; one retry covers a blip, not a bad request
      // nor a missing token (the sign-in dialog retries those).
      retry: shouldRetry,
      refetchOnWindowFocus: false,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <ThemeProvider>
        <TimeZoneProvider>
          <BrowserRouter>
            <App />
          </BrowserRouter>
        </TimeZoneProvider>
      </ThemeProvider>
    </QueryClientProvider>
  </StrictMode>,
);
