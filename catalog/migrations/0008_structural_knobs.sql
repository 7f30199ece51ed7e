-- Migration 0008: knobs that change a workflow's structure, not only a value its agents read.
-- `effect` says what a knob's value does to the task that carries it:
--   value     the agents (and the cardinality expressions) read it: frames per scene;
--   optional  0 leaves the step out, its output empty: speech-to-text on or off;
--   repeat    the step runs this many times in a chain, each run reading the previous
--             one's output in place of its first argument: debate rounds;
--   limit     the step maps over at most this many items of the list it maps over
--             (the first ones): debaters.
-- Catalogs seeded before this migration get the seed's new knob rows when migrated.
ALTER TABLE interface_knobs ADD COLUMN effect TEXT NOT NULL DEFAULT 'value';
