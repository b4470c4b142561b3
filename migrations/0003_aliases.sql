-- Aliases, and the per-function settings deploy tools read and write (code signing, runtime
-- management, recursion). Deleting a function deletes all of it (ON DELETE CASCADE); deleting a
-- version or an alias deletes what was configured for that qualifier (triggers below).

CREATE TABLE function_aliases (
    function_id        INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    function_version   TEXT NOT NULL,   -- '$LATEST' or a published version number
    additional_version TEXT,            -- RoutingConfig's one other version, or NULL
    additional_weight  REAL,            -- its share, 0.0–1.0
    description        TEXT NOT NULL,
    revision_id        TEXT NOT NULL,
    PRIMARY KEY (function_id, name)
) STRICT;

-- Settings stored as given, by function, qualifier ('' for the function itself) and kind.
CREATE TABLE function_settings (
    function_id INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    qualifier   TEXT NOT NULL,
    kind        TEXT NOT NULL,          -- 'code-signing', 'runtime-management', 'recursion'
    value       TEXT NOT NULL,          -- JSON, in the shape of the operation's answer
    PRIMARY KEY (function_id, qualifier, kind)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER function_versions_drop_qualified
AFTER DELETE ON function_versions
BEGIN
    DELETE FROM function_settings
        WHERE function_id = OLD.function_id AND qualifier = CAST(OLD.version AS TEXT);
    DELETE FROM event_invoke_configs
        WHERE function_id = OLD.function_id AND qualifier = CAST(OLD.version AS TEXT);
END;

CREATE TRIGGER function_aliases_drop_qualified
AFTER DELETE ON function_aliases
BEGIN
    DELETE FROM function_settings
        WHERE function_id = OLD.function_id AND qualifier = OLD.name;
    DELETE FROM event_invoke_configs
        WHERE function_id = OLD.function_id AND qualifier = OLD.name;
END;
