-- Settlement inserts no longer check usage_records.user_id against users. The check is a lookup
-- and a row lock on the user per inserted record: a sixth of a settlement statement's time
-- (docs/benchmarks.md). Users are never deleted (they are disabled), every settled record comes
-- from an authenticated user, and a usage record is a ledger entry that should outlive any change
-- to its user in any case.
ALTER TABLE usage_records DROP CONSTRAINT IF EXISTS usage_records_user_id_fkey;
