-- Running functions: installation identity, asynchronous events and their configuration,
-- destination records, and invocation logs.

-- Key/value facts about this installation (e.g. `installation_id`, which labels sandboxes).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- PutFunctionEventInvokeConfig, per function and qualifier ($LATEST, a version or an alias).
CREATE TABLE event_invoke_configs (
    function_id           INTEGER NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    qualifier             TEXT NOT NULL,
    max_retry_attempts    INTEGER,        -- NULL: Lambda's default (2)
    max_event_age_seconds INTEGER,        -- NULL: Lambda's default (21600)
    on_success            TEXT,           -- destination ARN
    on_failure            TEXT,
    last_modified_ms      INTEGER NOT NULL,
    PRIMARY KEY (function_id, qualifier)
) STRICT;

-- Accepted asynchronous invocations: written before the 202, deleted once delivered (or given
-- up on), so a crash loses none.
CREATE TABLE async_events (
    id              INTEGER PRIMARY KEY,
    request_id      TEXT NOT NULL,
    account         TEXT NOT NULL,
    region          TEXT NOT NULL,
    function_name   TEXT NOT NULL,
    qualifier       TEXT NOT NULL,
    payload         BLOB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL
) STRICT;

CREATE INDEX async_events_due ON async_events (next_attempt_ms);

-- Destination records meant for destinations lambox does not host (SQS, SNS, EventBridge, S3),
-- kept for inspection through the admin API.
CREATE TABLE destination_records (
    id            INTEGER PRIMARY KEY,
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    function_name TEXT NOT NULL,
    destination   TEXT NOT NULL,
    condition     TEXT NOT NULL,
    record        TEXT NOT NULL,     -- the JSON Lambda sends
    created_ms    INTEGER NOT NULL
) STRICT;

-- The log of each invocation, bounded per function.
CREATE TABLE invocation_logs (
    id            INTEGER PRIMARY KEY,
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    function_name TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    text          TEXT NOT NULL
) STRICT;

CREATE INDEX invocation_logs_function ON invocation_logs (account, region, function_name, id);
