-- A log group's retention (PutRetentionPolicy): events older than this many days are deleted by
-- lambox's sweep. NULL: kept (within lambox's bound of events per group).
ALTER TABLE log_groups ADD COLUMN retention_days INTEGER;
