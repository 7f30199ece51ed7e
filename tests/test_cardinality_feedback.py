"""Cardinality feedback (``catalog/cardinality.py``): real runs record the item counts
tasks produced, and refit learns the statistic a cardinality expression reads so its
predictions match them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import murakkab
from murakkab.catalog.cardinality import (CardinalityRow, format_statistic_changes, record_cardinalities,
                                          refit_statistics)
from murakkab.catalog.catalog import Catalog

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "examples" / "video_qa_samples.job"


def _row(run: str, items: float, duration_s: float = 9.75, calls: float = 2.0, backend: str = "local",
         interface: str = "scene_detection") -> CardinalityRow:
    env = json.dumps({"duration_s": duration_s, "fps": 24.0, "threshold": 27.0})
    return CardinalityRow(run, datetime.now(timezone.utc), "host", backend, "job", "scenes", interface, calls, env,
                          calls * max(1.0, duration_s / 4.0), items)


def test_scene_length_is_learned_from_the_scenes_runs_found() -> None:
    catalog = Catalog()
    record_cardinalities(catalog, [_row(f"r{i}", 7.0) for i in range(3)])
    (change,) = refit_statistics(catalog)
    assert change.key == "scene_length_s" and change.interfaces == ("scene_detection",)
    # 2 videos of 9.75 s gave 7 scenes: 2 x 9.75 / x = 7.
    assert change.new_value == pytest.approx(2 * 9.75 / 7, rel=1e-3)
    assert change.error_before == pytest.approx((7 - 2 * 9.75 / 4) / 7, rel=1e-3) and change.error_after < 1e-3
    stored = catalog.statistic("scene_length_s")
    assert stored is not None and stored.value == change.new_value
    assert stored.source.startswith("measured:refit from 3 observed tasks of scene_detection")
    assert "scene_length_s" in format_statistic_changes([change])


def test_too_few_observations_or_simulated_ones_change_nothing() -> None:
    catalog = Catalog()
    record_cardinalities(catalog, [_row("r0", 7.0), _row("r1", 7.0)])
    record_cardinalities(catalog, [_row(f"s{i}", 30.0, backend="sim") for i in range(5)])
    (change,) = refit_statistics(catalog)
    assert change.skipped == "2 observations, fewer than 3" and change.new_value == 4.0
    assert catalog.statistic("scene_length_s").value == 4.0


def test_a_cardinality_without_a_statistic_is_not_refitted() -> None:
    # frame_extraction's count is its knob frames_per_scene: nothing to learn.
    catalog = Catalog()
    env = json.dumps({"duration_s": 4.0, "frames_per_scene": 5.0})
    record_cardinalities(catalog, [CardinalityRow(f"r{i}", datetime.now(timezone.utc), "h", "local", "j", "frames",
                                                  "frame_extraction", 3.0, env, 15.0, 15.0) for i in range(3)])
    assert refit_statistics(catalog) == []


# Each example builds a catalog (~1 s): 12 keep the suite within its time.
@settings(max_examples=12, deadline=None)
@given(truth=st.floats(0.5, 60.0), durations=st.lists(st.floats(1.0, 600.0), min_size=3, max_size=6))
def test_the_fit_recovers_the_statistic_behind_the_counts(truth: float, durations: list[float]) -> None:
    catalog = Catalog()
    rows = [_row(f"r{i}", 2.0 * max(1.0, d / truth), duration_s=d) for i, d in enumerate(durations)]
    record_cardinalities(catalog, rows)
    (change,) = refit_statistics(catalog)
    if change.skipped:  # the counts are what the shipped value predicts already
        assert change.error_before < 1e-3
        return
    # Every count is predicted within rounding of the stored value (4 digits).
    assert change.error_after < 2e-3
    if any(d / truth > 1.01 for d in durations):
        assert change.new_value == pytest.approx(truth, rel=2e-3)


@pytest.mark.parametrize("chunk_tokens", [256, 1024])
def test_how_full_chunks_are_is_learned_from_real_chunking_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               chunk_tokens: int) -> None:
    # The chunker cuts at paragraph ends, so its chunks fill less than their budget: the
    # knob fixes chunk_tokens, and refit learns chunk_fill from the chunks it really made.
    job = ROOT / "examples" / "map_reduce_docs_samples.job"
    monkeypatch.chdir(job.parent)
    text = job.read_text().replace("document_chunking (documents)",
                                   f"document_chunking (documents) WITH (chunk_tokens = {chunk_tokens})")
    catalog = Catalog()
    for _ in range(3):
        (outcome,) = murakkab.run(text, backend="local", catalog=catalog, cache_dir=tmp_path)
    made = dict(outcome.result.items)["chunks"]
    changes = {c.key: c for c in refit_statistics(catalog)}
    fill = changes["chunk_fill"]
    assert not fill.skipped and 0 < fill.new_value < 1 and fill.error_after < fill.error_before
    (again,) = murakkab.optimize(text, catalog=catalog)
    estimated = next(n for n in again.logical.nodes if n.id == "chunks").stats.items
    before = next(n for n in outcome.plan.logical.nodes if n.id == "chunks").stats.items
    assert abs(estimated - made) < abs(before - made)


def test_a_real_run_records_what_each_task_produced(tmp_path: Path) -> None:
    catalog = Catalog()
    (outcome,) = murakkab.run(SAMPLES, backend="local", catalog=catalog, cache_dir=tmp_path)
    rows = catalog.execute("SELECT task, interface, calls, items, est_items FROM cardinality_observations "
                           "ORDER BY task")
    found = {r[0]: r for r in rows}
    scenes = dict(outcome.result.items)["scenes"]
    assert found["scenes"][1] == "scene_detection" and found["scenes"][3] == scenes
    assert found["frames"][2] == scenes  # one frame-extraction call per scene found
    # Observed media per call is measured from the clips, not the estimate.
    shards = catalog.execute("SELECT media_s FROM observations WHERE task = 'transcript'")
    assert all(abs(m - 4.0) > 1e-6 for (m,) in shards)


def test_rows_match_the_table_and_a_duplicate_is_refused() -> None:
    from dataclasses import fields

    from murakkab.grammar.diagnostics import MurakkabError

    catalog = Catalog()
    assert tuple(f.name for f in fields(CardinalityRow)) == tuple(
        name for name, _, _ in catalog.columns("cardinality_observations"))
    with pytest.raises(MurakkabError, match="each is recorded once"):
        record_cardinalities(catalog, [_row("same", 7.0), _row("same", 7.0)])
    assert catalog.execute("SELECT count(*) FROM cardinality_observations") == [(0,)]
