-- Migration 0003: interfaces whose single long input may be cut into chunks and the
-- results joined (the split_long_inputs rule).
ALTER TABLE interfaces ADD COLUMN splittable BOOLEAN DEFAULT FALSE;
