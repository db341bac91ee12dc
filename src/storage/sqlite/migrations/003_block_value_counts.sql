-- 003: exact per-block value counts for low-cardinality keys, which answer unfiltered TagValues
-- for blocks wholly inside the range without decoding them (docs/adr/002-block-summaries.md,
-- "Value counts").

-- One row per block written since this migration (older blocks have none and are decoded),
-- inserted and deleted in the same transaction as the block. `counts` is
-- storage/block_value_counts.h's serialized form. A table of its own for the reason
-- block_summaries is one: reading it must not walk the block's overflow pages.
CREATE TABLE block_value_counts (
  block_id INTEGER PRIMARY KEY,
  counts BLOB NOT NULL
);
