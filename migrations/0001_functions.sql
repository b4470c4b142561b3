-- Functions, their published versions and the deployment packages they reference.
-- Every function is scoped by (account, region): accounts never see each other's functions.

-- Deployment packages, content-addressed by the lowercase hex SHA-256 of the zip and shared by
-- every version that uses the same bytes. The triggers below delete a blob in the same
-- statement that drops its last reference, so no code path can forget to.
CREATE TABLE code_blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
) STRICT, WITHOUT ROWID;  -- keyed by the digest alone: one B-tree, one page per new blob

-- A function with its $LATEST version inline (the row every read and write of $LATEST touches).
CREATE TABLE functions (
    id                   INTEGER PRIMARY KEY,
    account              TEXT NOT NULL,
    region               TEXT NOT NULL,
    name                 TEXT NOT NULL,
    tags                 TEXT NOT NULL DEFAULT '{}',    -- JSON object
    reserved_concurrency INTEGER,                        -- NULL: not reserved
    next_version         INTEGER NOT NULL DEFAULT 1,     -- number the next publish gets
    created_ms           INTEGER NOT NULL,
    -- $LATEST:
    revision_id          TEXT NOT NULL,
    code_sha256          TEXT NOT NULL,                  -- hex; of the zip, or of the image URI
    code_size            INTEGER NOT NULL,
    blob_sha256          TEXT REFERENCES code_blobs (sha256), -- NULL for Image functions
    config               TEXT NOT NULL,                  -- JSON of lambox_core::function::FunctionConfig
    last_modified_ms     INTEGER NOT NULL,
    UNIQUE (account, region, name)
) STRICT;

-- Published versions: immutable copies of $LATEST.
CREATE TABLE function_versions (
    function_id      INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    revision_id      TEXT NOT NULL,
    code_sha256      TEXT NOT NULL,
    code_size        INTEGER NOT NULL,
    blob_sha256      TEXT REFERENCES code_blobs (sha256),
    config           TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (function_id, version)
) STRICT;

CREATE INDEX functions_blob ON functions (blob_sha256);
CREATE INDEX function_versions_blob ON function_versions (blob_sha256);

CREATE TRIGGER functions_release_blob_on_delete
AFTER DELETE ON functions WHEN OLD.blob_sha256 IS NOT NULL
BEGIN
    DELETE FROM code_blobs WHERE sha256 = OLD.blob_sha256
        AND NOT EXISTS (SELECT 1 FROM functions WHERE blob_sha256 = OLD.blob_sha256)
        AND NOT EXISTS (SELECT 1 FROM function_versions WHERE blob_sha256 = OLD.blob_sha256);
END;

CREATE TRIGGER functions_release_blob_on_update
AFTER UPDATE OF blob_sha256 ON functions
WHEN OLD.blob_sha256 IS NOT NULL AND OLD.blob_sha256 IS NOT NEW.blob_sha256
BEGIN
    DELETE FROM code_blobs WHERE sha256 = OLD.blob_sha256
        AND NOT EXISTS (SELECT 1 FROM functions WHERE blob_sha256 = OLD.blob_sha256)
        AND NOT EXISTS (SELECT 1 FROM function_versions WHERE blob_sha256 = OLD.blob_sha256);
END;

CREATE TRIGGER function_versions_release_blob_on_delete
AFTER DELETE ON function_versions WHEN OLD.blob_sha256 IS NOT NULL
BEGIN
    DELETE FROM code_blobs WHERE sha256 = OLD.blob_sha256
        AND NOT EXISTS (SELECT 1 FROM functions WHERE blob_sha256 = OLD.blob_sha256)
        AND NOT EXISTS (SELECT 1 FROM function_versions WHERE blob_sha256 = OLD.blob_sha256);
END;

-- CreateFunction as one statement: inserting into this view stores the blob (if given), the
-- function and, when publishing, version 1, atomically and in a single round trip to SQLite.
-- A taken name aborts the statement with the UNIQUE violation of `functions`.
CREATE VIEW function_creations (
    account, region, name, tags, publish, created_ms, revision_id, published_revision_id,
    code_sha256, code_size, blob_sha256, blob_data, config
) AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;

CREATE TRIGGER function_creations_insert
INSTEAD OF INSERT ON function_creations
BEGIN
    INSERT OR IGNORE INTO code_blobs (sha256, size, data)
        SELECT NEW.blob_sha256, length(NEW.blob_data), NEW.blob_data
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
END;
