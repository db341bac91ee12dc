// What the results area says when there is nothing to show.
import type { IngestPorts } from '../../api/types';

/**
 * How to send data, with the ports this server really bound (from /v1/system-info): a server run
 * with other --server.otlp_*_port values, or behind port 0, shows those. `ingest` is undefined
 * until the server answered.
 */
export function EmptyStore({ ingest }: { ingest: IngestPorts | undefined }) {
  const location = typeof window !== 'undefined' ? window.location : undefined;
  const host = location?.hostname || 'localhost';
  const uiOrigin = location?.origin || `http://${host}:8080`;
  return (
    <div className="empty-state" data-testid="empty-store">
      <h2>No spans yet</h2>
      <p>Teletrace is running and waiting for traces. Point any OpenTelemetry SDK or Collector at it:</p>
      {ingest === undefined ? (
        <p className="muted">Asking the server for its ports…</p>
      ) : (
        <>
          <table className="endpoints">
            <tbody>
              <tr>
                <th>OTLP/HTTP</th>
                <td className="mono">
                  http://{host}:{ingest.otlpHttpPort}/v1/traces
                </td>
                <td className="muted">protobuf or JSON, gzip</td>
              </tr>
              <tr>
                <th>OTLP/gRPC</th>
                <td className="mono">
                  {host}:{ingest.otlpGrpcPort}
                </td>
                <td className="muted">TraceService/Export</td>
              </tr>
              <tr>
                <th>Zipkin</th>
                <td className="mono">
                  {ingest.zipkinPort ? `http://${host}:${ingest.zipkinPort}` : uiOrigin}/api/v2/spans
                </td>
                <td className="muted">JSON v2</td>
              </tr>
            </tbody>
          </table>
          <p>For example, with the SDK's standard environment variables:</p>
          <pre className="code-block">
{`export OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:${ingest.otlpHttpPort}
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_SERVICE_NAME=checkout
export OTEL_TRACES_EXPORTER=otlp`}
          </pre>
        </>
      )}
      <p className="muted small">
        New spans appear here as soon as they are stored — turn on <strong>Live</strong> to watch them arrive.
      </p>
    </div>
  );
}

export function NoResults({ onClear, canClear, onWiden }: { onClear: () => void; canClear: boolean; onWiden?: () => void }) {
  return (
    <div className="empty-state" data-testid="no-results">
      <h2>No matching spans</h2>
      <p>No span in this time range matches every filter.</p>
      <div className="quick-row">
        {onWiden && (
          <button type="button" onClick={onWiden}>
            Search the last week
          </button>
        )}
        {canClear && (
          <button type="button" onClick={onClear}>
            Clear all filters
          </button>
        )}
      </div>
    </div>
  );
}
