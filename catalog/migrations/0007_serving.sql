-- Migration 0007: what serving mode (PLAN FLEET) reads beside the LLM load curves.
-- Completion tokens per request of a workflow configuration (OSDI '26 token figures),
-- and LLMs served by an external, OpenAI-compatible API: no GPU, a price per token and
-- a rate limit in tokens per second that caps what one endpoint serves.
CREATE TABLE workflow_tokens (
    workflow TEXT NOT NULL,
    model    TEXT NOT NULL,
    config   TEXT NOT NULL,
    metric   TEXT NOT NULL,
    value    DOUBLE NOT NULL CHECK (value > 0),
    unit     TEXT NOT NULL,
    source   TEXT NOT NULL,
    PRIMARY KEY (workflow, model, config, metric)
);

CREATE TABLE llm_apis (
    model          TEXT PRIMARY KEY,
    usd_per_mtok   DOUBLE NOT NULL CHECK (usd_per_mtok >= 0),
    rate_limit_tps DOUBLE NOT NULL CHECK (rate_limit_tps > 0),
    ttft_s         DOUBLE NOT NULL CHECK (ttft_s >= 0),
    tpot_s         DOUBLE NOT NULL CHECK (tpot_s > 0),
    source         TEXT NOT NULL
);
