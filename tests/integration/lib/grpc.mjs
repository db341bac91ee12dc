// Raw OTLP/gRPC Export calls with hand-built request bytes (for inputs the SDK cannot produce).
import * as grpc from '@grpc/grpc-js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const identity = (x) => x;

export { grpc };

export class RawTraceClient {
  // gzip: compress every request message (grpc-encoding: gzip).
  constructor(address, { gzip = false } = {}) {
    const options = {
      'grpc.max_send_message_length': 64 << 20,
      'grpc.max_receive_message_length': 64 << 20,
    };
    if (gzip) options['grpc.default_compression_algorithm'] = 2;
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
  }

  // Resolves { err: null, response: Buffer } or { err: { code, details } }; never rejects.
  // `headers`: metadata to send, e.g. { authorization: 'Bearer t' }.
  export(requestBytes, { timeoutMs = 20_000, headers = {} } = {}) {
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    const options = { deadline: Date.now() + timeoutMs };
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        EXPORT_PATH,
        identity,
        identity,
        requestBytes,
        metadata,
        options,
        (err, response) => {
          if (err) resolve({ err: { code: err.code, details: err.details } });
          else resolve({ err: null, response });
        },
      );
    });
  }

  close() {
    this.client.close();
  }
}
