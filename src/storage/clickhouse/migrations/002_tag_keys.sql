-- The attribute keys of each day's spans with their types (attr_keys and attr_types entries of
-- types 0-6: not array elements nor empty values), so that the tag keys over all stored data (the
-- search page asks them on every load) read a few rows per day instead of every span's attribute
-- arrays. The view fills it on every insert into spans, whichever Teletrace inserts; the spans
-- stored before it existed are read from their arrays instead (ClickHouseBackend::TagKeys).
-- Duplicates (one row per insert block and key) fold when parts merge; readers use DISTINCT.
-- Retention drops its days with the spans'.
CREATE TABLE IF NOT EXISTS ${db}.tag_keys${local} ${on_cluster}
(
    start_date Date,
    attr_key String,
    attr_type UInt8
)
ENGINE = ${replacing_merge_tree:tag_keys}
PARTITION BY start_date
ORDER BY (start_date, attr_key, attr_type);

${distributed:tag_keys:cityHash64(attr_key)};

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.tag_keys_mv${local} ${on_cluster}
TO ${db}.tag_keys${local}
AS SELECT start_date, attr_key, attr_type
FROM ${db}.spans${local}
ARRAY JOIN attr_keys AS attr_key, attr_types AS attr_type
WHERE attr_type <= 6
GROUP BY start_date, attr_key, attr_type;
