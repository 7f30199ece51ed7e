"""Random well-formed PLAN FLEET statements, planned end to end (hypothesis): whatever
rates, SLO mixes, inputs, budgets, settings and goals a user writes, planning either
returns a fleet that keeps its own promises or raises ``MurakkabError`` (no "internal
error"). The front-end fuzzing (``test_fuzz.py``) stops at ``murakkab.compile``; the
failures this catches lived after it (an unreachable latency tier, a time limit spent
before the first solve)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import murakkab
from murakkab.grammar.diagnostics import MurakkabError

TIERS = ["BEST", "GOOD", "FAIR", "BASIC"]
slo = st.one_of(
    st.builds(lambda t: f"quality >= {t}", st.sampled_from(TIERS)),
    st.builds(lambda t: f"latency <= {t}", st.sampled_from(TIERS)),
    st.builds(lambda q: f"quality >= {q}", st.sampled_from(["0.5", "0.8", "0.9", "0.95"])),
    st.builds(lambda s: f"latency <= {s}", st.sampled_from(["2 s", "10 s", "1 min", "20 min"])))


@st.composite
def slo_mix(draw: st.DrawFn) -> str:
    slos = draw(st.lists(slo, min_size=0, max_size=3, unique=True))
    if not slos:
        return ""
    if len(slos) == 1:
        return f" WITH SLO ({slos[0]})"
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=len(slos) - 1, max_size=len(slos) - 1, unique=True)))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, 100])]
    return " WITH SLO (" + ", ".join(f"{p}% {s}" for p, s in zip(shares, slos)) + ")"


@st.composite
def fleet_statement(draw: st.DrawFn) -> str:
    items = []
    for workflow in draw(st.lists(st.sampled_from(["video_qa", "code_gen"]), min_size=1, max_size=2, unique=True)):
        rate = draw(st.sampled_from(["0.01", "1", "30", "2.5"]))
        unit = draw(st.sampled_from(["second", "minute", "hour"]))
        item = f"{workflow} AT {rate} PER {unit}" + draw(slo_mix())
        if workflow == "video_qa" and draw(st.booleans()):
            item += f" ASSUMING (duration = {draw(st.sampled_from(['5 s', '30 s', '10 min', '2 h']))})"
        items.append(item)
    budget = draw(st.sampled_from(["", " BUDGET (H100 = 0)", " BUDGET (A100 = 8)", " BUDGET (cost = 50 USD)",
                                   " BUDGET (H100 = 16, cost = 1000 USD)"]))
    goal = draw(st.sampled_from(["", " MINIMIZE energy", " MINIMIZE cost THEN MINIMIZE gpus", " MINIMIZE gpus",
                                 " MINIMIZE latency", " MAXIMIZE quality"]))
    setting = draw(st.sampled_from(["", "SET quality_floor = off; ", "SET quality_floor = GOOD; ",
                                    "SET solver_time_limit = 0.001 s; "]))
    return setting + "PLAN FLEET FOR " + ", ".join(items) + budget + goal + ";"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet_statement())
def test_a_fleet_statement_plans_or_says_why(text: str) -> None:
    try:
        out = murakkab.explain(text, format="json")
    except MurakkabError as error:
        assert error.message and error.render()
        return
    plan = json.loads(out)
    assert plan["totals"]["gpus"] == sum(i["gpus"] for i in plan["instances"])
    for pair in plan["routing"]:
        assert abs(sum(c["share"] for c in pair["configurations"]) - 1.0) < 1e-4
        for c in pair["configurations"]:
            assert c["quality"] >= pair["min_quality"] - 1e-6
            if pair["max_latency_s"] is not None:
                assert c["latency_s"] <= pair["max_latency_s"] * (1 + 1e-6)
