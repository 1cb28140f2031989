-- Per-call tool fees (web search, file search, …): the calls a request made (JSON object of counts,
-- NULL when none) and the part of its cost they make up. Price overrides gain the same fees plus
-- where and when a price was read, as one JSON object (NULL: none).
ALTER TABLE usage_records ADD COLUMN tool_calls TEXT;
ALTER TABLE usage_records ADD COLUMN tool_cost_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE price_overrides ADD COLUMN details TEXT;
