-- Migration 0004: interfaces whose answer may be sampled several times and decided by a
-- majority vote (the expand_paths rule).
ALTER TABLE interfaces ADD COLUMN samplable BOOLEAN DEFAULT FALSE;
