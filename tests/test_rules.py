"""Each rewrite rule against its fixture (tests/fixtures/rules/<rule>.txt): it fires where
the fixture says so, does not fire where it must not, and yields the expected plan.

Fixture format: cases separated by a line ``----``; each case is a comment saying
``fires`` or ``does not fire``, a script, ``==>``, and the plan after the rule alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from murakkab.compiler.bind import compile_script
from murakkab.compiler.rules import RULES
from murakkab.compiler.rules.driver import optimize_logical

from .golden import regen_requested

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
RULES_BY_NAME = {r.name: r for r in RULES}


def _cases(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for block in path.read_text(encoding="utf-8").split("\n----\n"):
        head, _, expected = block.partition("==>")
        comment = head.splitlines()[0]
        out.append((comment, head, expected.strip("\n") + "\n"))
    return out


def test_every_rule_has_a_fixture() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.txt")) == sorted(RULES_BY_NAME)


# Rules that need catalog entries the tiny catalog lacks run on the default one.
DEFAULT_CATALOG_RULES = {"split_long_inputs", "expand_paths"}


@pytest.mark.parametrize("rule_name", sorted(RULES_BY_NAME))
def test_rule_fixture(rule_name: str, tiny_catalog, default_catalog, request: pytest.FixtureRequest) -> None:
    catalog = default_catalog if rule_name in DEFAULT_CATALOG_RULES else tiny_catalog
    path = FIXTURES / f"{rule_name}.txt"
    cases = _cases(path)
    rendered = []
    for comment, script, expected in cases:
        assert comment.startswith("-- fires") or comment.startswith("-- does not fire"), comment
        job = compile_script(script, f"{rule_name}.txt", catalog).jobs[0]
        result = optimize_logical(job.plan, [RULES_BY_NAME[rule_name]])
        fired = bool(result.fired)
        assert fired == comment.startswith("-- fires"), f"{rule_name}: {comment}"
        if not fired:
            assert result.plan == job.plan, "a rule that does not fire must not change the plan"
        actual = "\n".join(result.plan.render()) + "\n"
        rendered.append(f"{script}==>\n{actual}")
        if not regen_requested(request):
            assert actual == expected, f"{rule_name}: {comment}\n--- expected\n{expected}--- actual\n{actual}"
    if regen_requested(request):
        path.write_text("\n----\n".join(r.rstrip("\n") for r in rendered) + "\n", encoding="utf-8")


def test_rules_reach_a_fixed_point(tiny_catalog) -> None:
    script = """
    CREATE WORKFLOW w (v LIST<VIDEO>, q TEXT) AS (
      s := scene_detection (v), t := speech_to_text (s), dead := speech_to_text (v),
      a := question_answering (q, t)
    ) RETURNS a;
    RUN w (v => ['a.mp4', 'b.mp4'], q => 'why?');"""
    job = compile_script(script, "x", tiny_catalog).jobs[0]
    once = optimize_logical(job.plan, RULES)
    again = optimize_logical(once.plan, RULES)
    assert not again.fired, "a second run of the rules must find nothing to do"
    assert [f.rule for f in once.fired] == ["eliminate_dead_tasks", "fuse_maps", "partition_maps"]


def test_disabled_rules_do_not_fire(tiny_catalog) -> None:
    script = """
    CREATE WORKFLOW w (v VIDEO) AS (s := scene_detection (v), t := speech_to_text (s)) RETURNS t;
    RUN w (v => 'a.mp4');"""
    job = compile_script(script, "x", tiny_catalog).jobs[0]
    result = optimize_logical(job.plan, RULES, disabled=("partition_maps",))
    assert not any(n.partitioned for n in result.plan.nodes)
