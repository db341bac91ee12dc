-- 006: each block's key catalog (storage/key_catalog.h: its attribute keys with their value types),
-- so that tag keys are listed without decoding blocks (docs/adr/002-block-summaries.md, "Key
-- catalogs").

-- Each distinct catalog once: blocks mostly carry the same keys. Catalogs no block names any more
-- are deleted after retention's deletes.
CREATE TABLE IF NOT EXISTS key_catalogs (
  catalog_id INTEGER PRIMARY KEY,
  keys BLOB NOT NULL UNIQUE
);

-- The catalog of each block written since this migration (older blocks have none and are
-- decoded), inserted and deleted in the same transaction as the block.
CREATE TABLE IF NOT EXISTS block_key_catalogs (
  block_id INTEGER PRIMARY KEY,
  catalog_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS block_key_catalogs_by_catalog ON block_key_catalogs (catalog_id);
