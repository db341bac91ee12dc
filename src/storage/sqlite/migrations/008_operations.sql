-- 008: the catalog of operations, so that the Jaeger and Zipkin APIs' service and operation lists
-- (over all stored data) are read from a few rows instead of every block, and each block's span
-- counts per operation, so that span names with counts are read without decoding blocks
-- (docs/adr/004-operations-catalog.md).

-- Each (service.name, span kind, span name) of the spans stored in blocks written since this
-- migration, inserted in the same transaction as the first block that carries it, with an id of
-- its own and a lower bound on the latest start of its spans: raised when a block starts its spans
-- more than a minute later, so that retention can delete the operations whose spans are all gone.
CREATE TABLE IF NOT EXISTS operations (
  service BLOB NOT NULL,
  kind INTEGER NOT NULL,
  name BLOB NOT NULL,
  id INTEGER NOT NULL,
  last_start_unix_nano INTEGER NOT NULL,
  PRIMARY KEY (service, kind, name)
) WITHOUT ROWID;

-- Blocks below this id were written before the catalog (or after it overflowed, when it is the
-- largest integer): while one of them is stored, the lists are read from the blocks.
INSERT OR IGNORE INTO meta (key, value)
  SELECT 'operations_from_block', coalesce(max(block_id), 0) + 1 FROM blocks;

-- The spans of a block per operation id (storage/sqlite/operations_catalog.h), for blocks written
-- while the catalog was kept whose every span has a string service.name; inserted and deleted
-- with the block, all deleted when the catalog is dropped.
CREATE TABLE IF NOT EXISTS block_operations (
  block_id INTEGER PRIMARY KEY,
  counts BLOB NOT NULL
);
