-- Layers, their versions and policies, and the layer contents each function version uses.
--
-- A layer version's zip is a code blob like a function's (content-addressed, deduplicated with
-- every other package). A function pins the contents of its layers when they are attached
-- (function_layers), so a layer version deleted later stays the function's, as on AWS. A blob
-- goes in the statement that drops its last reference of any kind: the rule is written once, in
-- blob_releases_collect, and every trigger that drops a reference hands the digest to it.

-- The sizes of a package's files, counted against the unzipped limit of a function's code
-- with its layers. NULL for blobs stored before this column existed (measured when needed).
ALTER TABLE code_blobs ADD COLUMN unzipped_size INTEGER;

CREATE TABLE layers (
    id           INTEGER PRIMARY KEY,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    name         TEXT NOT NULL,
    next_version INTEGER NOT NULL DEFAULT 1,   -- numbers are never reused, deleted ones neither
    UNIQUE (account, region, name)
) STRICT;

CREATE TABLE layer_versions (
    layer_id                 INTEGER NOT NULL REFERENCES layers (id),
    version                  INTEGER NOT NULL,
    description              TEXT NOT NULL,
    license_info             TEXT,
    compatible_runtimes      TEXT,            -- JSON array of runtime identifiers; NULL: not given
    compatible_architectures TEXT,            -- JSON array; NULL: not given
    code_sha256              TEXT NOT NULL REFERENCES code_blobs (sha256),   -- hex
    code_size                INTEGER NOT NULL,
    unzipped_size            INTEGER NOT NULL,
    created_ms               INTEGER NOT NULL,
    policy                   TEXT,            -- JSON array of statements (AWS's policy language)
    policy_revision_id       TEXT,
    PRIMARY KEY (layer_id, version)
) STRICT;

CREATE INDEX layer_versions_blob ON layer_versions (code_sha256);

-- The layer contents of $LATEST (version 0) and of each published version, in order.
CREATE TABLE function_layers (
    function_id INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    blob_sha256 TEXT NOT NULL REFERENCES code_blobs (sha256),
    PRIMARY KEY (function_id, version, position)
) STRICT, WITHOUT ROWID;

CREATE INDEX function_layers_blob ON function_layers (blob_sha256);

-- Where references to blobs are let go: inserting a digest here deletes its blob when nothing
-- refers to it any more.
CREATE TABLE blob_releases (sha256 TEXT NOT NULL) STRICT;

CREATE TRIGGER blob_releases_collect
AFTER INSERT ON blob_releases
BEGIN
    DELETE FROM code_blobs WHERE sha256 = NEW.sha256
        AND NOT EXISTS (SELECT 1 FROM functions WHERE blob_sha256 = NEW.sha256)
        AND NOT EXISTS (SELECT 1 FROM function_versions WHERE blob_sha256 = NEW.sha256)
        AND NOT EXISTS (SELECT 1 FROM layer_versions WHERE code_sha256 = NEW.sha256)
        AND NOT EXISTS (SELECT 1 FROM function_layers WHERE blob_sha256 = NEW.sha256);
    DELETE FROM blob_releases;
END;

-- The triggers of 0001, now through the one rule.
DROP TRIGGER functions_release_blob_on_delete;
DROP TRIGGER functions_release_blob_on_update;
DROP TRIGGER function_versions_release_blob_on_delete;

CREATE TRIGGER functions_release_blob_on_delete
AFTER DELETE ON functions WHEN OLD.blob_sha256 IS NOT NULL
BEGIN
    INSERT INTO blob_releases (sha256) VALUES (OLD.blob_sha256);
END;

CREATE TRIGGER functions_release_blob_on_update
AFTER UPDATE OF blob_sha256 ON functions
WHEN OLD.blob_sha256 IS NOT NULL AND OLD.blob_sha256 IS NOT NEW.blob_sha256
BEGIN
    INSERT INTO blob_releases (sha256) VALUES (OLD.blob_sha256);
END;

CREATE TRIGGER function_versions_release_blob_on_delete
AFTER DELETE ON function_versions
BEGIN
    DELETE FROM function_layers WHERE function_id = OLD.function_id AND version = OLD.version;
    INSERT INTO blob_releases (sha256) SELECT OLD.blob_sha256 WHERE OLD.blob_sha256 IS NOT NULL;
END;

CREATE TRIGGER layer_versions_release_blob_on_delete
AFTER DELETE ON layer_versions
BEGIN
    INSERT INTO blob_releases (sha256) VALUES (OLD.code_sha256);
END;

CREATE TRIGGER function_layers_release_blob_on_delete
AFTER DELETE ON function_layers
BEGIN
    INSERT INTO blob_releases (sha256) VALUES (OLD.blob_sha256);
END;

CREATE TRIGGER function_layers_release_blob_on_update
AFTER UPDATE OF blob_sha256 ON function_layers
WHEN OLD.blob_sha256 IS NOT NEW.blob_sha256
BEGIN
    INSERT INTO blob_releases (sha256) VALUES (OLD.blob_sha256);
END;

-- CreateFunction as one statement, as in 0001, now with the code's unzipped size and the
-- digests of its layers (a JSON array, in order), pinned for $LATEST and version 1.
DROP TRIGGER function_creations_insert;
DROP VIEW function_creations;

CREATE VIEW function_creations (
    account, region, name, tags, publish, created_ms, revision_id, published_revision_id,
    code_sha256, code_size, blob_sha256, blob_data, config, blob_unzipped_size, layer_blobs
) AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL;

CREATE TRIGGER function_creations_insert
INSTEAD OF INSERT ON function_creations
BEGIN
    INSERT OR IGNORE INTO code_blobs (sha256, size, data, unzipped_size)
        SELECT NEW.blob_sha256, length(NEW.blob_data), NEW.blob_data, NEW.blob_unzipped_size
        WHERE NEW.blob_data IS NOT NULL;
    INSERT INTO functions (account, region, name, tags, next_version, created_ms, revision_id,
                           code_sha256, code_size, blob_sha256, config, last_modified_ms)
        VALUES (NEW.account, NEW.region, NEW.name, NEW.tags,
                CASE WHEN NEW.publish THEN 2 ELSE 1 END, NEW.created_ms, NEW.revision_id,
                NEW.code_sha256, NEW.code_size, NEW.blob_sha256, NEW.config, NEW.created_ms);
    INSERT INTO function_versions (function_id, version, revision_id, code_sha256, code_size,
                                   blob_sha256, config, last_modified_ms)
        SELECT last_insert_rowid(), 1, NEW.published_revision_id, NEW.code_sha256, NEW.code_size,
               NEW.blob_sha256, NEW.config, NEW.created_ms
        WHERE NEW.publish;
    INSERT INTO function_layers (function_id, version, position, blob_sha256)
        SELECT f.id, v.version, j.key, j.value
        FROM functions f, json_each(COALESCE(NEW.layer_blobs, '[]')) j,
             (SELECT 0 AS version UNION ALL SELECT 1 WHERE NEW.publish) v
        WHERE f.account = NEW.account AND f.region = NEW.region AND f.name = NEW.name;
END;
