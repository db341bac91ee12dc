-- Applied before every migration run: the database and the table that records which migrations
-- ran. Idempotent. Placeholders: see ../schema.h.
CREATE DATABASE IF NOT EXISTS ${db} ${on_cluster};

CREATE TABLE IF NOT EXISTS ${db}.schema_migrations ${on_cluster}
(
    version UInt32,
    name String,
    applied_at DateTime
)
ENGINE = ${global_merge_tree:schema_migrations}
ORDER BY version;
