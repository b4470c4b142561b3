-- Resource-based policies: per function and qualifier ('' for the function itself, else a
-- published version or an alias), the statements AddPermission wrote, in AWS's policy language
-- (a format AWS fixes). Deleted with the function (cascade), the version or the alias (triggers).

CREATE TABLE function_policies (
    function_id INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    qualifier   TEXT NOT NULL,
    statements  TEXT NOT NULL,   -- JSON array of statements
    revision_id TEXT NOT NULL,
    PRIMARY KEY (function_id, qualifier)
) STRICT;

CREATE TRIGGER function_versions_drop_policy
AFTER DELETE ON function_versions
BEGIN
    DELETE FROM function_policies
        WHERE function_id = OLD.function_id AND qualifier = CAST(OLD.version AS TEXT);
END;

CREATE TRIGGER function_aliases_drop_policy
AFTER DELETE ON function_aliases
BEGIN
    DELETE FROM function_policies
        WHERE function_id = OLD.function_id AND qualifier = OLD.name;
END;
