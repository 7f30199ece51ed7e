"""Progress of long planning (compiler/progress.py): what the planner reports, and the
CLI's stderr line (issue: explain of a 10,000-task chain ran for minutes with no sign)."""

from __future__ import annotations

from pathlib import Path

import pytest

import murakkab
from murakkab import cli
from murakkab.compiler.progress import report, watching

ROOT = Path(__file__).resolve().parent.parent


def test_the_planner_reports_its_stages() -> None:
    seen: list[tuple[str, int, int]] = []
    with watching(lambda stage, done, total: seen.append((stage, done, total))):
        murakkab.optimize(ROOT / "examples" / "video_qa.job")
    stages = [s for s, _, _ in seen]
    assert any("enumerating candidates" in s for s in stages)
    assert any("search" in s for s in stages)
    assert stages[-1].endswith("final schedule and checks")
    # Nobody watching: reports go nowhere.
    report("nothing", 1, 2)


def test_the_cli_shows_progress_only_when_planning_is_slow(monkeypatch: pytest.MonkeyPatch,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    job = str(ROOT / "examples" / "video_qa.job")
    monkeypatch.setattr(cli, "PLANNING_QUIET_S", 60.0)
    assert cli.main(["explain", job]) == 0
    assert "planning (" not in capfd.readouterr().err
    monkeypatch.setattr(cli, "PLANNING_QUIET_S", 0.0)
    monkeypatch.setattr(cli, "PLANNING_QUIET_LOG_S", 0.0)
    assert cli.main(["explain", job]) == 0
    err = capfd.readouterr().err
    assert "planning (" in err and "final schedule and checks" in err


def test_schedule_shows_cpsat_incumbents_on_stderr_even_while_the_solver_is_silenced(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    stg = ROOT / "tests" / "fixtures" / "scheduling" / "stg" / "50" / "rand0000.stg"
    monkeypatch.setattr(cli, "PLANNING_QUIET_S", 0.0)
    monkeypatch.setattr(cli, "PLANNING_QUIET_LOG_S", 0.0)
    assert cli.main(["schedule", "--stg", str(stg), "--processors", "2", "--solver", "cpsat",
                     "--time-limit", "5", "--format", "json"]) == 0
    out, err = capfd.readouterr()
    assert out.lstrip().startswith("{")  # stdout stays JSON alone
    assert "cpsat makespan: incumbent 1 after" in err and "gap" in err


def test_schedule_help_states_the_default_time_limit() -> None:
    import subprocess
    import sys

    help_text = subprocess.run([sys.executable, "-m", "murakkab", "schedule", "--help"], capture_output=True,
                               text=True, check=True).stdout
    assert "default 60" in help_text
