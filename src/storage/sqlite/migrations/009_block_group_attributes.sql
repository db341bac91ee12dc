-- 009: per-block counts of span attribute values per group of block_groups, so that one service's
-- attribute facets (the search page's HTTP facets once a service is picked) take a block wholly
-- inside the range from the groups its filters keep instead of reading its refs and the key's
-- column (docs/adr/002-block-summaries.md, "Attribute values per group").

-- One row per block written since this migration that keeps groups, inserted and deleted in the
-- same transaction as the block. `attributes` is BlockValueCountsBuilder::GroupAttributes(). A
-- table of its own: beside the groups it would push each of their rows past half a page (one row
-- per page instead of two), and only attribute facets read it.
CREATE TABLE IF NOT EXISTS block_group_attributes (
  block_id INTEGER PRIMARY KEY,
  attributes BLOB NOT NULL
);
