-- The URLs of deleted aliases: AWS answers a request to one with its "Forbidden" message (as for
-- a URL whose policy does not allow the caller), not the answer of a URL that never existed. The
-- ids are kept until the function goes.

CREATE TABLE retired_function_urls (
    url_id      TEXT PRIMARY KEY,
    function_id INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX retired_function_urls_by_function ON retired_function_urls (function_id);

DROP TRIGGER function_aliases_drop_url;

CREATE TRIGGER function_aliases_drop_url
AFTER DELETE ON function_aliases
BEGIN
    INSERT OR IGNORE INTO retired_function_urls (url_id, function_id)
        SELECT url_id, function_id FROM function_urls
        WHERE function_id = OLD.function_id AND qualifier = OLD.name;
    DELETE FROM function_urls WHERE function_id = OLD.function_id AND qualifier = OLD.name;
END;
