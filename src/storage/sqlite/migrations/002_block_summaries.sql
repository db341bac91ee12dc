-- 002: per-block summaries that let filtered scans skip blocks (docs/adr/002-block-summaries.md).

-- One row per block written since this migration (older blocks have none and are always decoded),
-- inserted and deleted in the same transaction as the block. `terms` is a Bloom filter over the
-- block's (key, typed value) terms (storage/block_summary.h). A table of its own rather than a
-- column of `blocks`: a column stored after the `data` blob is reached only by walking the blob's
-- overflow pages, and here the summary is read precisely to avoid touching them.
CREATE TABLE block_summaries (
  block_id INTEGER PRIMARY KEY,
  terms BLOB NOT NULL
);
