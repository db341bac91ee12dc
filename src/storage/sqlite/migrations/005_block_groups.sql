-- 005: per-block groups of spans by (service.name, status code) with their counts and duration
-- aggregates, which answer histograms, duration statistics and tag values filtered on
-- those fields for blocks wholly inside the range (docs/adr/002-block-summaries.md, "Groups").

-- One row per block written since this migration whose spans form at most 256 groups (others,
-- and older blocks, have none and are decoded), inserted and deleted in the same transaction as
-- the block. `groups` is BlockValueCountsBuilder::Groups()'s zstd-compressed form. A table of its
-- own: inside block_value_counts' rows it would push most of them past one page, and only the
-- queries it answers read it.
CREATE TABLE IF NOT EXISTS block_groups (
  block_id INTEGER PRIMARY KEY,
  groups BLOB NOT NULL
);
