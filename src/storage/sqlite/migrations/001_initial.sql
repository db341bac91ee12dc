-- 001: the span block store (docs/adr/001-sqlite-block-storage.md).

-- Must run before any table exists: auto_vacuum cannot be switched on afterwards without a full
-- VACUUM. Retention frees pages with PRAGMA incremental_vacuum.
PRAGMA auto_vacuum = INCREMENTAL;

-- Store-wide facts, e.g. the system_id UUID created on first open.
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value
);

-- One row per compressed span block (storage/span_block_codec.h). The bounds serve time pruning and
-- early termination of sorted searches; values above INT64_MAX are stored as INT64_MAX, which only
-- makes pruning more conservative.
CREATE TABLE blocks (
  block_id INTEGER PRIMARY KEY,
  min_start_unix_nano INTEGER NOT NULL,
  max_start_unix_nano INTEGER NOT NULL,
  min_duration_nano INTEGER NOT NULL,
  max_duration_nano INTEGER NOT NULL,
  span_count INTEGER NOT NULL,
  ingestion_time_unix_nano INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  data BLOB NOT NULL
);

-- Covering indexes: the block list of a time range is read without touching the data pages.
CREATE INDEX blocks_by_max_start
  ON blocks (max_start_unix_nano, min_start_unix_nano, min_duration_nano, max_duration_nano);
CREATE INDEX blocks_by_min_start
  ON blocks (min_start_unix_nano, max_start_unix_nano, min_duration_nano, max_duration_nano);

-- Which blocks hold a trace's spans, and which spans (8-byte span ids, concatenated): GetTrace
-- reads only these blocks, and a rewrite of a stored span is detected without decoding.
CREATE TABLE trace_blocks (
  trace_id BLOB NOT NULL,
  block_id INTEGER NOT NULL,
  span_ids BLOB NOT NULL,
  PRIMARY KEY (trace_id, block_id)
) WITHOUT ROWID;

-- Retention deletes by block; block ids only grow, so this index is appended to, not scattered.
CREATE INDEX trace_blocks_by_block ON trace_blocks (block_id);
