"""`murakkab catalog refit` (catalog/refit.py) on hand-computed observations.

Profile A = (opencv-frames, local-core, 1 unit) starts at setup 0.2 s, per_item 0.4 s,
per_media 0.3 s. Its real observations follow per_item 0.5 s, per_media 0.1 s exactly:

    calls  media_s  seconds = 0.2 + calls × (0.5 + 0.1 media_s)
      10      2      0.2 + 10 × 0.7 = 7.2
       5      4      0.2 +  5 × 0.9 = 4.7
       4     10      0.2 +  4 × 1.5 = 6.2

Median media_s = 4: old call = 0.4 + 0.3 × 4 = 1.6 s, new = 0.5 + 0.1 × 4 = 0.9 s,
relative change = (0.9 − 1.6) / 1.6 = −0.4375.

Profile B = (opencv-frames, local-core, 2 units), setup 0.1 s, per_item 0.2 s,
per_media 0.05 s, has only simulator observations that follow per_item 1.0 s,
per_media 0.2 s: 0.1 + 2 × (1 + 0.2 × 1) = 2.5, 0.1 + 3 × (1 + 0.2 × 5) = 6.1,
0.1 + 1 × (1 + 0.2 × 3) = 1.7. Median media 3: old 0.2 + 0.15 = 0.35 s, new 1.6 s,
change +1.25 / 0.35 = +25/7.
"""

from __future__ import annotations

import gc
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from murakkab.catalog.catalog import Catalog
from murakkab.catalog.refit import (
    OBSERVATION_COLUMNS, ObservationRow, fit_coefficients, format_changes, record_observations, refit,
)
from murakkab.grammar.diagnostics import MurakkabError

approx = pytest.approx
AGENT, HW = "opencv-frames", "local-core"
WHEN = datetime(2026, 3, 14, 12, 0, 0)


def _obs(run: str, shard: int, units: int, calls: float, media: float, seconds: float, backend: str = "local",
         agent: str = AGENT) -> ObservationRow:
    return ObservationRow(run, WHEN, "box-1", backend, "job", "frames", shard, agent, HW, units, calls, media,
                          seconds, seconds, 0.0, 0.0)


def _catalog(path: Path | None = None) -> Catalog:
    catalog = Catalog(path)
    with catalog.transaction():
        if not catalog.execute("SELECT 1 FROM agents WHERE name = ?", [AGENT]):
            catalog.execute("INSERT INTO agents (name, interface, kind, model, quality, quality_source) "
                            "VALUES (?, 'frame_extraction', 'tool', 'OpenCV', 1.0, 'default:test')", [AGENT])
        catalog.execute("DELETE FROM profiles WHERE agent = ?", [AGENT])
        catalog.execute("INSERT INTO profiles (agent, hardware, units, setup_s, per_item_s, per_media_s, utilisation, "
                        "source, serial_fraction) VALUES (?, ?, 1, 0.2, 0.4, 0.3, 1.0, 'default:test', 0.1), "
                        "(?, ?, 2, 0.1, 0.2, 0.05, 1.0, 'default:test', 0.1)", [AGENT, HW, AGENT, HW])
    catalog.reload()
    return catalog


REAL_A = [_obs("r1", 0, 1, 10, 2, 7.2), _obs("r1", 1, 1, 5, 4, 4.7), _obs("r2", 0, 1, 4, 10, 6.2)]
SIM_B = [_obs("s1", 0, 2, 2, 1, 2.5, "sim"), _obs("s1", 1, 2, 3, 5, 6.1, "sim"), _obs("s1", 2, 2, 1, 3, 1.7, "sim")]


def _profile(catalog: Catalog, units: int):
    return next(p for p in catalog.profiles(AGENT) if p.hardware == HW and p.units == units)


def test_observation_row_matches_the_table() -> None:
    catalog = Catalog()
    assert OBSERVATION_COLUMNS == tuple(name for name, _, _ in catalog.columns("observations"))


def test_refit_recovers_hand_computed_coefficients_and_change() -> None:
    catalog = _catalog()
    assert record_observations(catalog, REAL_A + SIM_B) == 6
    (change,) = refit(catalog)  # B has only simulator observations: not used
    assert (change.agent, change.hardware, change.units, change.observations) == (AGENT, HW, 1, 3)
    assert change.skipped == ""
    assert change.media_s == 4.0
    assert change.old_call_s == approx(1.6)
    assert change.new_call_s == approx(0.9)
    assert change.relative_change == approx(-0.4375)
    assert (change.new_per_item_s, change.new_per_media_s) == (approx(0.5), approx(0.1))
    a = _profile(catalog, 1)
    assert (a.setup_s, a.per_item_s, a.per_media_s) == (0.2, approx(0.5), approx(0.1))
    assert a.source.startswith("measured:box-1, 2026-03-14; refit from 3 observations")
    assert a.serial_fraction == 0.1 and a.utilisation == 1.0
    b = _profile(catalog, 2)
    assert (b.per_item_s, b.per_media_s, b.source) == (0.2, 0.05, "default:test")
    assert f"{change.relative_change:+.1%}" in format_changes([change])


def test_simulator_observations_only_with_include_sim() -> None:
    catalog = _catalog()
    record_observations(catalog, SIM_B)
    assert refit(catalog) == []
    (change,) = refit(catalog, include_sim=True)
    assert change.units == 2 and change.media_s == 3.0
    assert change.old_call_s == approx(0.35) and change.new_call_s == approx(1.6)
    assert change.relative_change == approx(25 / 7)
    b = _profile(catalog, 2)
    assert (b.per_item_s, b.per_media_s) == (approx(1.0), approx(0.2))


def test_too_few_observations_are_skipped() -> None:
    catalog = _catalog()
    record_observations(catalog, REAL_A[:2] + [_obs("r3", 0, 4, 1, 1, 1.0)])
    changes = refit(catalog)
    assert [(c.units, c.observations) for c in changes] == [(1, 2), (4, 1)]
    assert changes[0].skipped == "2 observations, fewer than 3"
    assert changes[0].old_call_s == changes[0].new_call_s == approx(0.4 + 0.3 * 3.0)
    assert changes[1].skipped == "no stored profile row for these units" and changes[1].old_call_s is None
    assert _profile(catalog, 1).source == "default:test"
    assert refit(catalog, min_observations=2)[0].skipped == ""
    assert "skipped" in format_changes(changes)


def test_one_media_length_scales_both_coefficients() -> None:
    # All at media_s 2 (old call 0.4 + 0.6 = 1.0 s); the shards took 2 s a call: scale 2.
    calls = [1.0, 2.0, 3.0]
    item, media, note = fit_coefficients(np.array(calls), np.array([2.0] * 3), np.array([0.2 + 2 * c for c in calls]),
                                         0.2, 0.4, 0.3)
    assert (item, media) == (approx(0.8), approx(0.6)) and "scaled by 2" in note
    # No media at all (an LLM-like agent): per_item fitted, per_media kept.
    item, media, note = fit_coefficients(np.array(calls), np.zeros(3), np.array([0.2 + 0.7 * c for c in calls]),
                                         0.2, 0.4, 0.3)
    assert (item, media) == (approx(0.7), 0.3) and "per_media_s kept" in note


def test_duplicate_observations_roll_back() -> None:
    catalog = _catalog()
    record_observations(catalog, REAL_A[:1])
    with pytest.raises(MurakkabError, match="cannot record observations"):
        record_observations(catalog, REAL_A[1:] + REAL_A[:1])
    assert catalog.execute("SELECT count(*) FROM observations") == [(1,)]


def test_read_only_catalog_refuses(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    catalog = _catalog(path)
    record_observations(catalog, REAL_A)
    del catalog
    gc.collect()
    read_only = Catalog(path, read_only=True)
    with pytest.raises(MurakkabError, match="read-only"):
        refit(read_only)
    with pytest.raises(MurakkabError, match="read-only"):
        record_observations(read_only, SIM_B)


def test_a_frame_decoding_agent_is_observed_in_seconds_of_video_at_its_profiled_rate() -> None:
    """A run at 60 fps of a scene detector profiled at 30 fps records each second of
    video as two, so a refit fits per_media_s at the profile's rate."""
    import murakkab
    from murakkab.api import observation_rows

    text = (Path(__file__).parents[1] / "examples" / "video_qa.job").read_text()
    rows = {}
    for fps in (30, 60):
        cat = Catalog()
        (outcome,) = murakkab.run(text.replace("fps = 30", f"fps = {fps}"), backend="sim", catalog=cat)
        assert outcome.result is not None
        obs = [r for r in observation_rows(cat, outcome.plan, outcome.result) if r.task == "scenes"]
        (profile,) = [p for p in cat.profiles(obs[0].agent) if p.hardware == obs[0].hardware][:1]
        assert profile.media_fps == 30.0
        rows[fps] = sorted(r.media_s for r in obs)
    assert rows[60] == pytest.approx([2 * m for m in rows[30]])
    # An agent whose time does not depend on the frame rate records the seconds as they are.
    from types import SimpleNamespace

    from murakkab.api import _fps_scale

    cat = Catalog()
    assert _fps_scale(cat, SimpleNamespace(agent="whisper-small-cpu", hardware="EPYC-7V12-core"), 60.0) == 1.0
    assert _fps_scale(cat, SimpleNamespace(agent="pyav-decode", hardware="EPYC-7V12-core"), 60.0) == 2.0
