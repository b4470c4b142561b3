-- Log events as CloudWatch Logs serves them: every line a sandbox wrote, with its log group
-- (`/aws/lambda/<function>` or the function's LoggingConfig.LogGroup), its stream (one per
-- sandbox) and the millisecond it was written. Groups and streams are rows of their own, so that
-- an event row is its message and three integers (a search reads little besides messages).
-- Bounded per log group by lambox (oldest first).

CREATE TABLE log_groups (
    id         INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (account, region, name)
) STRICT;

CREATE TABLE log_streams (
    id           INTEGER PRIMARY KEY,
    group_id     INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    first_ms     INTEGER NOT NULL,
    last_ms      INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL,
    UNIQUE (group_id, name)
) STRICT;

CREATE TABLE log_events (
    id        INTEGER PRIMARY KEY,
    group_id  INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    stream_id INTEGER NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
    ts_ms     INTEGER NOT NULL,
    message   TEXT NOT NULL
) STRICT;

CREATE INDEX log_events_by_group ON log_events (group_id, id);
CREATE INDEX log_events_by_stream ON log_events (stream_id, id);
