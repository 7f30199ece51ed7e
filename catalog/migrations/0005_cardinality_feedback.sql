-- Migration 0005: what runs found, item by item. One row per task whose output is a
-- list: the items it really produced beside the binder's estimate, with the item
-- attributes and knobs its cardinality expression read. `murakkab catalog refit` fits the
-- statistics those expressions use (e.g. scene_length_s) to these rows.
CREATE TABLE cardinality_observations (
    run_id      TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    host        TEXT NOT NULL,
    backend     TEXT NOT NULL,
    job         TEXT NOT NULL,
    task        TEXT NOT NULL,
    interface   TEXT NOT NULL,
    calls       DOUBLE NOT NULL CHECK (calls >= 0),
    env         TEXT NOT NULL,
    est_items   DOUBLE NOT NULL,
    items       DOUBLE NOT NULL CHECK (items >= 0),
    PRIMARY KEY (run_id, task)
);
