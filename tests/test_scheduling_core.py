"""The problem model, the validator, the heuristic's upgrade loop, the oracle's limits and
the ``schedule`` command, on small hand-computed problems."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from murakkab.compiler.scheduling.cli import add_schedule_parser, schedule_command, schedule_text
from murakkab.compiler.scheduling.exhaustive import solve_exhaustive
from murakkab.compiler.scheduling.greedy import solve_greedy
from murakkab.compiler.scheduling.ilp import compact, solve_ilp
from murakkab.compiler.scheduling.problem import (Bound, Edge, InfeasibleScheduleError, Objective, Option, Placement,
                                                  Pool, Problem, Task, Totals, edge)
from murakkab.compiler.scheduling.validate import validate
from murakkab.grammar.diagnostics import MurakkabError

FIXTURES = Path(__file__).parent / "fixtures" / "scheduling"


def two_stage() -> Problem:
    """a -> b, each fast on 2 GPUs (dear) or slow on 1 CPU core (cheap)."""
    pools = (Pool("gpu", 2, gpu=True), Pool("cpu", 1))
    fast = Option("gpu", 2.0, units=2, energy_wh=10.0, cost_usd=4.0, quality=0.9, label="gpu x2")
    slow = Option("cpu", 5.0, energy_wh=3.0, cost_usd=1.0, quality=0.8, label="cpu")
    a, b = Task("a", (fast, slow)), Task("b", (fast, slow))
    # Moving data between the pools costs 1 s.
    return Problem("two-stage", pools, (a, b), (edge(a, b, lambda x, y: 0.0 if x.pool == y.pool else 1.0),))


def test_totals_and_a_valid_schedule() -> None:
    p = two_stage()
    sol = (Placement("a", 0, 0.0, (0, 1)), Placement("b", 1, 3.0))
    totals = p.totals(sol)
    assert totals == Totals(makespan_s=8.0, energy_wh=13.0, cost_usd=5.0, quality=pytest.approx(0.72), gpus=2)
    assert validate(p, sol, totals=totals) == []


def test_validator_finds_every_kind_of_violation() -> None:
    p = two_stage()
    good = (Placement("a", 0, 0.0, (0, 1)), Placement("b", 1, 3.0))
    assert any("before 'a' ends" in v for v in validate(p, (good[0], replace(good[1], start_s=2.5))))
    assert any("has no placement" in v for v in validate(p, good[:1]))
    assert any("more than once" in v for v in validate(p, good + good[:1]))
    assert any("has option 5" in v for v in validate(p, (replace(good[0], option=5), good[1])))
    bad_unit = validate(p, (replace(good[0], units=(0, 7)), good[1]))
    assert any("names units [7] of 'gpu', which has units 0..1" in v for v in bad_unit)
    wrong = Totals(7.0, 13.0, 5.0, 0.72, 2)
    assert validate(p, good, totals=wrong) == ["reported makespan 7 but the schedule gives 8"]
    assert validate(p, good, Objective(bounds=(Bound("makespan", 7.5),))) == \
        ["bound makespan <= 7.5 s does not hold: makespan is 8"]
    # Two tasks on one processor at once.
    one = Problem("one", (Pool("cpu", 1),), (Task("x", (Option("cpu", 2.0),)), Task("y", (Option("cpu", 2.0),))))
    clash = validate(one, (Placement("x", 0, 0.0), Placement("y", 0, 1.0)))
    assert clash == ["pool 'cpu' holds 2 units at 1 s (when 'y' starts); capacity 1"]
    assert validate(one, (Placement("x", 0, 0.0), Placement("y", 0, 2.0))) == []


def test_validator_checks_named_units_separately_from_capacity() -> None:
    p = Problem("pair", (Pool("gpu", 2, gpu=True),),
                (Task("x", (Option("gpu", 2.0),)), Task("y", (Option("gpu", 2.0),))))
    # Within capacity, but both on unit 0.
    v = validate(p, (Placement("x", 0, 0.0, (0,)), Placement("y", 0, 1.0, (0,))))
    assert v == ["unit 0 of 'gpu' runs 'x' and 'y' at once (1 s < 2 s)"]


def test_malformed_problems_are_user_errors() -> None:
    cpu = (Pool("cpu", 1),)
    with pytest.raises(MurakkabError, match="unknown pool 'gpu'"):
        Problem("p", cpu, (Task("a", (Option("gpu", 1.0),)),))
    with pytest.raises(MurakkabError, match="needs 2 units of 'cpu', which has 1"):
        Problem("p", cpu, (Task("a", (Option("cpu", 1.0, units=2),)),))
    with pytest.raises(MurakkabError, match="quality 0"):
        Problem("p", cpu, (Task("a", (Option("cpu", 1.0, quality=0.0),)),))
    a, b = Task("a", (Option("cpu", 1.0),)), Task("b", (Option("cpu", 1.0),))
    with pytest.raises(MurakkabError, match="cycle"):
        Problem("p", cpu, (a, b), (Edge("a", "b"), Edge("b", "a")))
    with pytest.raises(MurakkabError, match="transfer table must be 1 x 1"):
        Problem("p", cpu, (a, b), (Edge("a", "b", ((1.0, 2.0),)),))
    with pytest.raises(MurakkabError, match="unknown scheduling metric 'speed'"):
        Objective(("speed",))
    # Times the exact solvers would overflow (CP-SAT's integer domains, the MILP's big-M).
    with pytest.raises(MurakkabError, match=r"duration 1e\+18 s; it must be >= 0 and at most 1e\+09 s"):
        Problem("p", cpu, (Task("a", (Option("cpu", 1e18),)),))
    with pytest.raises(MurakkabError, match="transfer time that is negative or above"):
        Problem("p", cpu, (a, b), (Edge("a", "b", ((2e9,),)),))


def test_solvers_agree_on_the_hand_computed_optimum() -> None:
    p = two_stage()
    # Fastest: both on the GPUs, 2 + 2 = 4 s, no transfer.
    for solve in (solve_greedy, solve_exhaustive, solve_ilp):
        r = solve(p)
        assert r.totals.makespan_s == 4.0 and [pl.option for pl in r.solution] == [0, 0], r.solver
    # Least energy at the fastest makespan is still the GPUs; least energy first is the CPU.
    lex = Objective(("energy", "makespan"))
    for solve in (solve_exhaustive, solve_ilp):
        r = solve(p, lex)
        assert (r.totals.energy_wh, r.totals.makespan_s) == (6.0, 10.0), r.solver


def test_upgrade_loop_meets_bounds_the_first_placement_misses() -> None:
    p = two_stage()
    objective = Objective(("makespan",), (Bound("energy", 13.0),))
    r = solve_greedy(p, objective)
    # HEFT alone takes the GPUs twice (20 Wh); the loop moves one task to the CPU.
    assert r.feasible and r.totals.energy_wh == 13.0 and "upgrade loop" in r.note
    assert validate(p, r.solution, objective, r.totals) == []
    assert r.totals.makespan_s >= solve_ilp(p, objective).totals.makespan_s
    impossible = Objective(("makespan",), (Bound("energy", 1.0),))
    assert not solve_greedy(p, impossible).feasible
    with pytest.raises(InfeasibleScheduleError):
        solve_ilp(p, impossible)
    with pytest.raises(InfeasibleScheduleError):
        solve_exhaustive(p, impossible)


def test_gpus_goal_counts_peak_units() -> None:
    p = Problem("gpus", (Pool("gpu", 3, gpu=True),),
                tuple(Task(f"t{i}", (Option("gpu", 1.0),)) for i in range(3)))
    fast = solve_ilp(p, Objective(("makespan", "gpus")))
    assert (fast.totals.makespan_s, fast.totals.gpus) == (1.0, 3)
    frugal = solve_ilp(p, Objective(("gpus", "makespan")))
    assert (frugal.totals.gpus, frugal.totals.makespan_s) == (1, 3.0)
    assert solve_exhaustive(p, Objective(("gpus", "makespan"))).totals.gpus == 1


def test_compact_left_shifts_solver_noise() -> None:
    p = two_stage()
    start = compact(p, [0, 0], [0.0000001, 2.0000004], [(0, 1), (0, 1)])
    assert start == [0.0, 2.0]


def test_exhaustive_refuses_large_problems() -> None:
    p = Problem("big", (Pool("cpu", 2),), tuple(Task(f"t{i}", (Option("cpu", 1.0),)) for i in range(9)))
    with pytest.raises(MurakkabError, match="too large for the exhaustive solver") as info:
        solve_exhaustive(p)
    assert "--solver ilp" in (info.value.hint or "")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="murakkab")
    add_schedule_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["schedule", *argv])


def test_schedule_command_json_report() -> None:
    report = schedule_command(_args("--heft", str(FIXTURES / "heft_topcuoglu2002"), "--format", "json"))
    json.dumps(report)  # plain data
    assert report["solver"] == "cpsat" and report["solver_reason"].startswith("auto chose cpsat: 10 tasks, 30 options (at most 300 tasks)")
    assert (report["makespan"], report["optimal"], report["lower_bound"], report["gap"]) == (73.0, True, 73.0, 0.0)
    assert len(report["schedule"]) == 10
    assert {"task", "option", "pool", "units", "start", "end"} <= set(report["schedule"][0])
    greedy = schedule_command(_args("--heft", str(FIXTURES / "heft_topcuoglu2002"), "--solver", "greedy"))
    assert greedy["makespan"] == 80.0 and not greedy["optimal"] and greedy["lower_bound"] <= 73.0


def test_schedule_command_text_and_auto_choices() -> None:
    stg = str(FIXTURES / "stg" / "50" / "rand0000.stg")
    report = schedule_command(_args("--stg", stg, "--processors", "16", "--time-limit", "5"))
    assert report["solver"] == "cpsat" and report["optimal"] and report["makespan"] == 55.0
    text = schedule_text(report)
    assert "makespan     55 s, optimal (proven)" in text and "t51" in text
    wf = str(FIXTURES / "wfinstances" / "montage-chameleon-2mass-005d-001.json")
    report = schedule_command(_args("--wfformat", wf, "--cores", "8", "--solver", "greedy"))
    assert report["solver"] == "greedy" and report["makespan"] >= report["lower_bound"]


def test_schedule_command_auto_takes_the_oracle_for_a_tiny_graph(tmp_path: Path) -> None:
    # Tasks of 3 s and 4 s side by side on 2 processors, then one of 1 s: 5 s (8 s on one).
    stg = tmp_path / "tiny.stg"
    stg.write_text("3\n0 0 0\n1 3 1 0\n2 4 1 0\n3 1 2 1 2\n4 0 1 3\n")
    report = schedule_command(_args("--stg", str(stg), "--processors", "2"))
    assert report["solver"] == "exhaustive" and report["solver_reason"].startswith("auto chose exhaustive: 5 tasks")
    assert (report["makespan"], report["optimal"]) == (5.0, True)
    one = schedule_command(_args("--stg", str(stg), "--processors", "1", "--solver", "ilp"))
    assert (one["makespan"], one["optimal"]) == (8.0, True)


def test_schedule_command_flag_errors() -> None:
    stg = str(FIXTURES / "stg" / "50" / "rand0000.stg")
    with pytest.raises(MurakkabError, match="--stg needs --processors"):
        schedule_command(_args("--stg", stg))
    with pytest.raises(MurakkabError, match="--cores goes with --wfformat"):
        schedule_command(_args("--stg", stg, "--processors", "2", "--cores", "2"))
    with pytest.raises(MurakkabError, match="too large for the exhaustive solver"):
        schedule_command(_args("--stg", stg, "--processors", "2", "--solver", "exhaustive"))
    with pytest.raises(MurakkabError, match="--time-limit must be > 0"):
        schedule_command(_args("--stg", stg, "--processors", "2", "--time-limit", "0"))
