-- Provisioned concurrency configs: how many sandboxes of a published version (or of an alias's
-- version) lambox keeps started. Deleting the function, the version or the alias deletes the
-- config (ON DELETE CASCADE, triggers below).

CREATE TABLE provisioned_concurrency (
    function_id      INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    qualifier        TEXT NOT NULL,     -- a published version number or an alias name
    requested        INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (function_id, qualifier)
) STRICT;

CREATE TRIGGER function_versions_drop_provisioned
AFTER DELETE ON function_versions
BEGIN
    DELETE FROM provisioned_concurrency
        WHERE function_id = OLD.function_id AND qualifier = CAST(OLD.version AS TEXT);
END;

CREATE TRIGGER function_aliases_drop_provisioned
AFTER DELETE ON function_aliases
BEGIN
    DELETE FROM provisioned_concurrency
        WHERE function_id = OLD.function_id AND qualifier = OLD.name;
END;

-- The description `$LATEST` had when a version was published from it (a version's own
-- description may be PublishVersion's): publishing again is a no-op only when `$LATEST` is
-- unchanged since, description included. NULL for versions published before this column.
ALTER TABLE function_versions ADD COLUMN latest_description TEXT;

-- A published version moves the function's next version number past it, in the same
-- statement (so publishing is one INSERT).
CREATE TRIGGER function_versions_next_number
AFTER INSERT ON function_versions
BEGIN
    UPDATE functions SET next_version = MAX(next_version, NEW.version + 1)
        WHERE id = NEW.function_id;
END;
