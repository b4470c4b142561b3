-- Function URLs: at most one per function and per alias, each with an id of its own (the host
-- label of its URL) that stays the same across restarts. Deleting the function deletes its URLs
-- (cascade); deleting an alias deletes the alias's (trigger).

CREATE TABLE function_urls (
    function_id INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    qualifier   TEXT NOT NULL,            -- '' for the function itself, else an alias's name
    url_id      TEXT NOT NULL UNIQUE,     -- 32 lower-case characters
    auth_type   TEXT NOT NULL,            -- 'NONE' or 'AWS_IAM'
    cors        TEXT,                     -- JSON of the Cors given, NULL when none
    invoke_mode TEXT,                     -- 'BUFFERED' or 'RESPONSE_STREAM'; NULL: never set (BUFFERED)
    created_ms  INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    PRIMARY KEY (function_id, qualifier)
) STRICT;

CREATE TRIGGER function_aliases_drop_url
AFTER DELETE ON function_aliases
BEGIN
    DELETE FROM function_urls WHERE function_id = OLD.function_id AND qualifier = OLD.name;
END;
