-- Log events as CloudWatch Logs serves them: every line a sandbox wrote, with its log group
-- (`/aws/lambda/<function>` or the function's LoggingConfig.LogGroup), its stream (one per
-- sandbox) and the millisecond it was written. Bounded per log group by lambox (oldest first).

CREATE TABLE log_events (
    id         INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    log_group  TEXT NOT NULL,
    log_stream TEXT NOT NULL,
    ts_ms      INTEGER NOT NULL,
    message    TEXT NOT NULL
) STRICT;

CREATE INDEX log_events_by_group ON log_events (account, region, log_group, id);
CREATE INDEX log_events_by_stream ON log_events (account, region, log_group, log_stream, id);
