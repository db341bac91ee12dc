-- 007: each block's calls between services (storage/block_calls.h), so that dependencies answer a
-- block wholly inside their range without decoding it (docs/adr/002-block-summaries.md, "Stored
-- calls").

-- One row per block written since this migration with at most 64 calls whose parent was not
-- written with it (others, and older blocks, have none and are decoded), inserted and deleted in
-- the same transaction as the block. Retention records in meta ('deleted_max_start') the latest
-- start of any block it deleted, which tells whether the parents a row counts are still stored.
CREATE TABLE IF NOT EXISTS block_calls (
  block_id INTEGER PRIMARY KEY,
  calls BLOB NOT NULL
);
