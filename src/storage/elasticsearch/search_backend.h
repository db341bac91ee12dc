// The elasticsearch storage backend: spans as documents in Elasticsearch 8+ or OpenSearch 2+, one
// index per UTC day of span start (<prefix>-spans-YYYY-MM-DD) created from a composable index
// template the backend installs, and a <prefix>-meta index holding the system id. See
// docs/elasticsearch.md and README.md beside this file.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> backend,
//                    NewSearchBackend({{"endpoints", "http://127.0.0.1:9200"}}));
//
// Settings: search_settings.h. A document keeps the span's full-fidelity encoding (the span block
// codec, base64) beside the indexed fields queries use (trace id, start, duration, service, name),
// so every field round-trips exactly. Time ranges, trace ids, sorting and paging (search_after,
// no max_result_window limit) run inside the engine, and filters narrow what it returns
// (search_query.h: superset clauses, the scan engine's matcher decides). Aggregations the engine
// can answer exactly (search_aggregations.h) are pushed down to it; the others are evaluated by
// the scan engine over the spans the engine returns (storage.h's fallback).
//
// Writes: `_bulk` with `create` actions whose _id is the trace id and span id, so a span already
// stored is skipped (409) and retries are harmless. WriteSpans returns OK only when every item was
// stored or already there; a 429 or unreachable node is Unavailable (retry later), anything else
// Internal with the engine's reason. A read first refreshes the span indices when spans were
// written since the last refresh, so it sees every acknowledged span.
// When the engine cannot be reached at start-up, creation still succeeds; the template and meta
// index are installed on first success and calls fail with Unavailable until then.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "storage/storage.h"

namespace teletrace::storage::elasticsearch {

// Creates the backend and, when the engine answers, installs its template and meta index.
// Errors: InvalidArgument naming "storage.elasticsearch.<key>" for a bad setting;
// PermissionDenied when the engine rejects the credentials; FailedPrecondition for an engine
// older than Elasticsearch 8 or OpenSearch 2.
absl::StatusOr<std::unique_ptr<Backend>> NewSearchBackend(const BackendSettings& settings);

// How many tag values, statistics and histogram requests `backend` (made by NewSearchBackend; 0 for
// any other) answered with the engine's own aggregations rather than by scanning
// (search_aggregations.h).
uint64_t PushedDownAggregations(const Backend& backend);

}  // namespace teletrace::storage::elasticsearch
