-- Spans: one row per span, partitioned by day (retention drops whole partitions), ordered by start
-- time, so that a trace fetched by id (its time range from trace_index) and a page of search
-- results read the granules of their time range only. (Tables created before 2026-12-07 are ordered
-- by (start_hour, service_name, name, start_time_unix_nano) and keep that order: a trace fetch then
-- reads the trace id column of the whole hour; docs/clickhouse.md says how to convert one.)
-- Placeholders: see ../schema.h.
--
-- Attributes of every level sit in five parallel arrays, one entry per attribute:
--   attr_keys    the level's letter (r resource, s scope, a span, e event, l link) + the key
--   attr_types   0 Str, 1 Int, 2 Double, 3 Bool, 4 Bytes, 5 Slice, 6 Map, 255 empty; an element
--                of an array attribute is one more entry under the same key with 16 + its type,
--                so filters match any element while tag values and statistics see only scalars
--   attr_str / attr_int / attr_dbl   the value in the column of its type (bools in attr_int),
--                the type's default elsewhere
-- Event (link) entries are those of every event (link) of the span, so "any event matches" is
-- "any entry matches". Few columns keep each inserted part to a few dozen files, which is what
-- bounds insert speed on small servers.
-- `span` is the whole span (resource, scope, events, links) in the span block codec, read back to
-- answer searches and traces with every field exactly as written.
CREATE TABLE IF NOT EXISTS ${db}.spans${local} ${on_cluster}
(
    start_date Date,
    start_hour UInt32,
    service_name ${lc_string},
    name ${lc_string},
    start_time_unix_nano UInt64,
    trace_id FixedString(16),
    span_id FixedString(8),
    parent_span_id FixedString(8),
    end_time_unix_nano UInt64,
    duration_nano UInt64,
    ingestion_time_unix_nano UInt64,
    kind UInt8,
    status_code UInt8,
    status_message String,
    trace_state String,
    scope_name ${lc_string},
    scope_version ${lc_string},
    event_names Array(String),
    link_trace_ids Array(FixedString(16)),
    link_span_ids Array(FixedString(8)),
    attr_keys Array(String),
    attr_types Array(UInt8),
    attr_str Array(String),
    attr_int Array(Int64),
    attr_dbl Array(Float64),
    span String
)
ENGINE = ${merge_tree:spans}
PARTITION BY start_date
ORDER BY start_time_unix_nano
SETTINGS index_granularity = 8192;

-- Cluster only: the table every query and insert goes through, sharded by trace id so that all
-- spans of a trace live on one shard.
${distributed:spans};

-- Trace id -> where its spans are, so a trace is fetched without scanning: one row per insert
-- block, trace and day, aggregated at read time.
CREATE TABLE IF NOT EXISTS ${db}.trace_index${local} ${on_cluster}
(
    start_date Date,
    trace_id FixedString(16),
    start_min UInt64,
    start_max UInt64,
    span_count UInt64
)
ENGINE = ${merge_tree:trace_index}
PARTITION BY start_date
ORDER BY trace_id;

${distributed:trace_index};

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.trace_index_mv${local} ${on_cluster}
TO ${db}.trace_index${local}
AS SELECT
    start_date,
    trace_id,
    min(start_time_unix_nano) AS start_min,
    max(start_time_unix_nano) AS start_max,
    count() AS span_count
FROM ${db}.spans${local}
GROUP BY start_date, trace_id;

-- The store's identity (GET /v1/system-info), one row written on first use.
CREATE TABLE IF NOT EXISTS ${db}.system_info ${on_cluster}
(
    system_id String,
    created_at DateTime
)
ENGINE = ${global_merge_tree:system_info}
ORDER BY system_id;
