-- Migration 0002: profile models (LLM load curves, energy per token), workflow-level
-- quality, published SLO tiers, and observations from runs for refitting profiles.

-- The serving model behind an LLM agent, keying llm_curves and energy_per_token.
ALTER TABLE agents ADD COLUMN serving_model TEXT DEFAULT '';

-- Amdahl serial fraction of one call split over `units` units: the planner scales a
-- profile to unit counts between measured points with it (and says "interpolated").
ALTER TABLE profiles ADD COLUMN serial_fraction DOUBLE DEFAULT 0.05;

-- TTFT and TPOT of one serving instance (model on `tp` GPUs of `hardware`) against the
-- offered load in output tokens per second (OSDI '26 Fig. 3, P90).
CREATE TABLE llm_curves (
    model       TEXT NOT NULL,
    hardware    TEXT NOT NULL REFERENCES hardware (name),
    tp          INTEGER NOT NULL CHECK (tp > 0),
    offered_tps DOUBLE NOT NULL CHECK (offered_tps > 0),
    ttft_s      DOUBLE NOT NULL CHECK (ttft_s > 0),
    tpot_s      DOUBLE NOT NULL CHECK (tpot_s > 0),
    source      TEXT NOT NULL,
    PRIMARY KEY (model, hardware, tp, offered_tps)
);

-- Energy per output token at a batch size (ML.ENERGY leaderboard rows).
CREATE TABLE energy_per_token (
    model            TEXT NOT NULL,
    hardware         TEXT NOT NULL,
    units            INTEGER NOT NULL CHECK (units > 0),
    max_num_seqs     INTEGER NOT NULL CHECK (max_num_seqs > 0),
    joules_per_token DOUBLE NOT NULL CHECK (joules_per_token > 0),
    source           TEXT NOT NULL,
    PRIMARY KEY (model, hardware, units, max_num_seqs)
);

-- End-to-end accuracy of a workflow per configuration (OSDI '26 Fig. 2).
CREATE TABLE workflow_quality (
    workflow TEXT NOT NULL,
    model    TEXT NOT NULL,
    config   TEXT NOT NULL,
    metric   TEXT NOT NULL,
    value    DOUBLE NOT NULL CHECK (value >= 0 AND value <= 1),
    source   TEXT NOT NULL,
    PRIMARY KEY (workflow, model, config, metric)
);

-- SLO tier thresholds as published (for comparison with the ones murakkab computes).
CREATE TABLE published_tiers (
    workflow TEXT NOT NULL,
    tier     TEXT NOT NULL CHECK (tier IN ('BEST', 'GOOD', 'FAIR', 'BASIC')),
    metric   TEXT NOT NULL,
    value    DOUBLE NOT NULL,
    unit     TEXT NOT NULL,
    source   TEXT NOT NULL,
    PRIMARY KEY (workflow, tier, metric)
);

-- What runs did: one row per shard. Refit reads these to update profiles.
CREATE TABLE observations (
    run_id        TEXT NOT NULL,
    recorded_at   TIMESTAMP NOT NULL,
    host          TEXT NOT NULL,
    backend       TEXT NOT NULL,
    job           TEXT NOT NULL,
    task          TEXT NOT NULL,
    shard         INTEGER NOT NULL,
    agent         TEXT NOT NULL,
    hardware      TEXT NOT NULL,
    units         INTEGER NOT NULL,
    calls         DOUBLE NOT NULL,
    media_s       DOUBLE NOT NULL,
    est_seconds   DOUBLE NOT NULL,
    seconds       DOUBLE NOT NULL CHECK (seconds >= 0),
    est_energy_wh DOUBLE NOT NULL,
    energy_wh     DOUBLE NOT NULL,
    PRIMARY KEY (run_id, task, shard)
);
