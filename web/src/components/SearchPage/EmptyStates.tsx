// What the results area says when there is nothing to show.

export function EmptyStore() {
  const host = typeof window !== 'undefined' ? window.location.hostname || 'localhost' : 'localhost';
  return (
    <div className="empty-state" data-testid="empty-store">
      <h2>No spans yet</h2>
      <p>Teletrace is running and waiting for traces. Point any OpenTelemetry SDK or Collector at it:</p>
      <table className="endpoints">
        <tbody>
          <tr>
            <th>OTLP/HTTP</th>
            <td className="mono">http://{host}:4318/v1/traces</td>
            <td className="muted">protobuf or JSON, gzip</td>
          </tr>
          <tr>
            <th>OTLP/gRPC</th>
            <td className="mono">{host}:4317</td>
            <td className="muted">TraceService/Export</td>
          </tr>
        </tbody>
      </table>
      <p>For example, with the SDK's standard environment variables:</p>
      <pre className="code-block">
{`export OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:4318
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_SERVICE_NAME=checkout
export OTEL_TRACES_EXPORTER=otlp`}
      </pre>
      <p className="muted small">
        These are the default ports; a server started with other <code>--server.otlp_*_port</code> values listens there instead.
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
