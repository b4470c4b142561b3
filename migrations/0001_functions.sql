-- Functions, their versions and the deployment packages they reference.
-- Every row is scoped by (account, region): accounts never see each other's functions.

-- Deployment packages, content-addressed by the lowercase hex SHA-256 of the zip and shared by
-- every version that uses the same bytes. A blob no version references is deleted in the same
-- transaction that drops the last reference.
CREATE TABLE code_blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
) STRICT;

CREATE TABLE functions (
    id                   INTEGER PRIMARY KEY,
    account              TEXT NOT NULL,
    region               TEXT NOT NULL,
    name                 TEXT NOT NULL,
    tags                 TEXT NOT NULL DEFAULT '{}',   -- JSON object
    reserved_concurrency INTEGER,                       -- NULL: not reserved
    next_version         INTEGER NOT NULL DEFAULT 1,    -- number the next PublishVersion gets
    created_ms           INTEGER NOT NULL,
    UNIQUE (account, region, name)
) STRICT;

-- seq 0 is $LATEST; seq N is published version N (immutable once written).
CREATE TABLE function_versions (
    function_id      INTEGER NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    revision_id      TEXT NOT NULL,
    code_sha256      TEXT NOT NULL,                     -- hex; of the zip, or of the image URI
    code_size        INTEGER NOT NULL,
    blob_sha256      TEXT REFERENCES code_blobs(sha256), -- NULL for Image functions
    config           TEXT NOT NULL,                     -- JSON of lambox_core::function::FunctionConfig
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (function_id, seq)
) STRICT;

CREATE INDEX function_versions_blob ON function_versions (blob_sha256);
