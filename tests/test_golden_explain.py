"""EXPLAIN golden files: the plans of the examples, in every format, as a reviewer reads
them. ``pytest --regen`` rewrites them; the diff is the review."""

from __future__ import annotations

from pathlib import Path

import pytest

import murakkab
from murakkab.compiler.job import Settings

from .golden import check_text, regen_requested

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
# examples/broken.job is a mistake on purpose: it has no plan (tests/test_readme_commands.py).
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.job") if p.stem != "broken")

CASES = [(ex, fmt, False) for ex in EXAMPLES for fmt in ("text", "json")]
CASES += [(ROOT / "examples" / "video_qa.job", fmt, False) for fmt in ("dot", "mermaid")]
CASES += [(ROOT / "examples" / "video_qa.job", "text", True)]


@pytest.mark.parametrize(("example", "fmt", "verbose"), CASES,
                         ids=[f"{e.stem}-{f}{'-verbose' if v else ''}" for e, f, v in CASES])
def test_explain_golden(example: Path, fmt: str, verbose: bool, request: pytest.FixtureRequest) -> None:
    # Paths relative to the repository root keep the golden text free of machine paths.
    text = example.read_text(encoding="utf-8")
    # An example without ON CLUSTER would plan for this machine (the default), which
    # differs between machines: the golden text is its plan on the HotOS testbed. A fleet
    # is planned on cloud hardware wherever it is explained (a cluster would bound it).
    fleet = "PLAN FLEET" in text
    actual = murakkab.explain(text, format=fmt, verbose=verbose, name=f"examples/{example.name}",
                              settings=Settings() if fleet else Settings(cluster="hotos-testbed"))
    name = f"{example.stem}{'.verbose' if verbose else ''}.{fmt}.txt"
    check_text(GOLDEN / name, actual, regen_requested(request))


def test_sequential_baseline_golden(request: pytest.FixtureRequest) -> None:
    text = (ROOT / "examples" / "video_qa.job").read_text(encoding="utf-8")
    actual = murakkab.explain(text, settings=Settings(parallelism=False), name="examples/video_qa.job")
    check_text(GOLDEN / "video_qa.sequential.text.txt", actual, regen_requested(request))


def test_explain_is_deterministic() -> None:
    text = (ROOT / "examples" / "video_qa.job").read_text(encoding="utf-8")
    assert murakkab.explain(text, name="a") == murakkab.explain(text, name="a")
