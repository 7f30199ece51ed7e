-- Migration 0001: the foundation schema of the murakkab system catalog.
-- Every number the planner uses lives here, with where it came from. Later versions
-- add tables and columns through migrations keyed on catalog_meta.schema_version.


-- Agent interfaces: typed signatures the binder checks task arguments against.
-- inputs: 'name TYPE; name TYPE...' (a trailing '...' on the last makes it variadic).
-- cardinality: output items per call, an expression over the input item's attributes,
--   the task's knobs and the statistics (e.g. 'duration_s / scene_length_s').
-- output_attrs: attributes of each output item, 'attr = expression; ...'.
CREATE TABLE interfaces (
    name          TEXT PRIMARY KEY,
    description   TEXT NOT NULL,
    inputs        TEXT NOT NULL,
    output        TEXT NOT NULL,
    cardinality   TEXT NOT NULL DEFAULT '1',
    output_attrs  TEXT NOT NULL DEFAULT '',
    partitionable BOOLEAN NOT NULL DEFAULT TRUE,
    examples      TEXT NOT NULL DEFAULT ''
);

-- Knobs a task may set with WITH (...), and their domains ('1|5|10').
CREATE TABLE interface_knobs (
    interface     TEXT NOT NULL REFERENCES interfaces (name),
    knob          TEXT NOT NULL,
    default_value DOUBLE NOT NULL,
    domain        TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (interface, knob)
);

-- Implementations of an interface: a model or a tool. `baseline` marks the
-- configuration a hand-written workflow would hard-code (the HotOS baseline).
CREATE TABLE agents (
    name           TEXT PRIMARY KEY,
    interface      TEXT NOT NULL REFERENCES interfaces (name),
    kind           TEXT NOT NULL CHECK (kind IN ('model', 'tool')),
    model          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    quality        DOUBLE NOT NULL CHECK (quality > 0 AND quality <= 1),
    quality_source TEXT NOT NULL,
    baseline       BOOLEAN NOT NULL DEFAULT FALSE
);

-- Hardware units: one GPU, or one CPU core. Power and price are per unit.
CREATE TABLE hardware (
    name         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('gpu', 'cpu')),
    description  TEXT NOT NULL,
    memory_gb    DOUBLE NOT NULL CHECK (memory_gb >= 0),
    active_w     DOUBLE NOT NULL CHECK (active_w >= 0),
    idle_w       DOUBLE NOT NULL CHECK (idle_w >= 0),
    usd_per_hour DOUBLE NOT NULL CHECK (usd_per_hour >= 0),
    source       TEXT NOT NULL
);

-- Named inventories: `node_count` machines called `node`, each with
-- `units_per_node` units of `hardware`.
CREATE TABLE clusters (
    name           TEXT NOT NULL,
    node           TEXT NOT NULL,
    node_count     INTEGER NOT NULL CHECK (node_count > 0),
    hardware       TEXT NOT NULL REFERENCES hardware (name),
    units_per_node INTEGER NOT NULL CHECK (units_per_node > 0),
    description    TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL,
    PRIMARY KEY (name, node, hardware)
);

-- Latency model of one agent instance on `units` units of `hardware`:
--   per call: per_item_s + per_media_s * (media seconds of the item)
--   once per instance: setup_s
-- `source` is 'published:<ref>', 'derived:<how>', 'measured:<host, date>' or 'default'.
CREATE TABLE profiles (
    agent       TEXT NOT NULL REFERENCES agents (name),
    hardware    TEXT NOT NULL REFERENCES hardware (name),
    units       INTEGER NOT NULL CHECK (units > 0),
    setup_s     DOUBLE NOT NULL CHECK (setup_s >= 0),
    per_item_s  DOUBLE NOT NULL CHECK (per_item_s >= 0),
    per_media_s DOUBLE NOT NULL CHECK (per_media_s >= 0),
    utilisation DOUBLE NOT NULL CHECK (utilisation > 0 AND utilisation <= 1),
    source      TEXT NOT NULL,
    PRIMARY KEY (agent, hardware, units)
);

-- Statistics the cardinality estimator falls back on when an input says nothing.
CREATE TABLE statistics (
    key    TEXT PRIMARY KEY,
    value  DOUBLE NOT NULL,
    unit   TEXT NOT NULL,
    source TEXT NOT NULL
);

-- Workflow templates for description-only RUNs, written in the job language.
CREATE TABLE workflow_templates (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    body        TEXT NOT NULL
);
