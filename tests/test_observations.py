"""Every run records what each shard did; refit then finds the model that predicted it."""

from __future__ import annotations

from pathlib import Path

from pytest import approx

import murakkab
from murakkab.catalog.catalog import Catalog
from murakkab.catalog.refit import refit

# The example with its transcript kept: every step runs, so every profile is observed.
VIDEO_QA = (Path(__file__).parent.parent / "examples" / "video_qa.job").read_text().replace(
    "(scenes),\n  captions", "(scenes) WITH (enabled = 1),\n  captions")


def test_a_run_records_one_observation_per_shard() -> None:
    catalog = Catalog()
    (outcome,) = murakkab.run(VIDEO_QA, backend="sim", catalog=catalog)
    rows = catalog.execute("SELECT task, shard, est_seconds, seconds, backend FROM observations ORDER BY ALL")
    assert len(rows) == len(outcome.plan.shards)
    assert {r[4] for r in rows} == {"sim"}
    # Without jitter the simulator does what the planner estimated, shard by shard.
    assert all(r[2] == approx(r[3]) for r in rows)


def test_refit_of_noiseless_runs_moves_nothing() -> None:
    catalog = Catalog()
    murakkab.run(VIDEO_QA, backend="sim", catalog=catalog)
    murakkab.run(VIDEO_QA, backend="sim", catalog=catalog)
    changes = [c for c in refit(catalog, include_sim=True) if not c.skipped]
    assert changes, "some profile has enough observations"
    for c in changes:
        assert c.relative_change == approx(0.0, abs=1e-6), c
    # Real-backend-only refit (the default) ignores simulated runs.
    assert not [c for c in refit(catalog) if not c.skipped]
