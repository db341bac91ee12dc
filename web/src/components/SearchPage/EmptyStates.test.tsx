import { render, screen } from '@testing-library/react';
import { EmptyStore } from './EmptyStates';

describe('EmptyStore', () => {
  it('shows the ports the server bound, not the defaults', () => {
    render(<EmptyStore ingest={{ otlpGrpcPort: 14317, otlpHttpPort: 14318, zipkinPort: 9411 }} />);
    const text = screen.getByTestId('empty-store').textContent ?? '';
    expect(text).toContain('http://localhost:14318/v1/traces');
    expect(text).toContain('localhost:14317TraceService');
    expect(text).toContain('http://localhost:9411/api/v2/spans');
    expect(text).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:14318\n');
    expect(text).not.toMatch(/:431[78]\b/);
  });

  it('points Zipkin at the UI port when it has no port of its own', () => {
    render(<EmptyStore ingest={{ otlpGrpcPort: 4317, otlpHttpPort: 4318, zipkinPort: 0 }} />);
    expect(screen.getByTestId('empty-store').textContent).toContain(`${window.location.origin}/api/v2/spans`);
  });

  it('waits for the ports instead of guessing them', () => {
    render(<EmptyStore ingest={undefined} />);
    const text = screen.getByTestId('empty-store').textContent ?? '';
    expect(text).toContain('Asking the server for its ports');
    expect(text).not.toMatch(/431[78]/);
  });
});
