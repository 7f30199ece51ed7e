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
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    job = str(ROOT / "examples" / "video_qa.job")
    assert cli.main(["explain", job]) == 0
    assert "planning (" not in capsys.readouterr().err
    monkeypatch.setattr(cli, "PLANNING_QUIET_S", 0.0)
    assert cli.main(["explain", job]) == 0
    err = capsys.readouterr().err
    assert "planning (" in err and "final schedule and checks" in err
