"""PuLP across its versions: variables attached to their model, and the CBC to run."""

from __future__ import annotations

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
