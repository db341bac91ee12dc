-- 004: the trace index keeps 3-byte fingerprints of span ids instead of the 8-byte ids, and no
-- index by block (docs/adr/001-sqlite-block-storage.md, "The trace index"): ~6 of the ~12.5 bytes
-- per span it cost. A fingerprint names the blocks that may hold a span; decoding a block's ids
-- decides. Retention finds a block's rows from the trace ids in the block itself.

-- teletrace_span_fingerprints() is registered by the server on its writer connection.
ALTER TABLE trace_blocks RENAME COLUMN span_ids TO span_fingerprints;
UPDATE trace_blocks SET span_fingerprints = teletrace_span_fingerprints(span_fingerprints);
DROP INDEX trace_blocks_by_block;
