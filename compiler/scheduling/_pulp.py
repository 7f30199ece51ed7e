"""PuLP across its versions (variables attached to their model, the CBC to run), and the
clock that model builders look at."""

from __future__ import annotations

import time
import warnings

import pulp


def new_var(m: pulp.LpProblem, name: str, low: float, up: float, cat: str = "Continuous") -> pulp.LpVariable:
    # PuLP 3 attaches variables to their model (and deprecates free-standing ones); 2.x has
    # no add_variable.
    if hasattr(m, "add_variable"):
        return m.add_variable(name, lowBound=low, upBound=up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def cbc(**kwargs: object) -> pulp.LpSolver:
    """A CBC installed on the system (PuLP's COIN_CMD) if any, else the one bundled with
    PuLP, whose class PuLP 3 deprecates but still ships."""
    if pulp.COIN_CMD().available():
        return pulp.COIN_CMD(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(**kwargs)


class OutOfTime(Exception):
    """The time limit ran out while a model was being built."""


# How often a model builder looks at the clock: every this many tasks, edges or pairs
# (a pair of the disjunctive model costs ~0.3 ms to build, so the check overshoots by
# ~20 ms at most, and ``time.perf_counter`` at this rate costs nothing measurable).
CLOCK_EVERY = 64


def check_clock(i: int, deadline: float) -> None:
    """Raise ``OutOfTime`` when ``deadline`` (``time.perf_counter``) has passed; looked at
    only every ``CLOCK_EVERY``-th ``i``."""
    if i % CLOCK_EVERY == 0 and time.perf_counter() > deadline:
        raise OutOfTime
