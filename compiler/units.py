"""Units of the job language and their conversion to the planner's base units.

Base units: seconds, US dollars, watt-hours, GPUs, and plain numbers. A quantity
written without a unit is taken in the base unit of its dimension.
"""

from __future__ import annotations

import math

from ..grammar import ast
from ..grammar.diagnostics import MurakkabError, suggestion

# dimension -> {unit as written (lower case): factor to the base unit}
UNITS: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3,
             "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hr": 3600.0,
             "hour": 3600.0, "hours": 3600.0},
    "cost": {"usd": 1.0, "dollars": 1.0, "cents": 0.01},
    "energy": {"wh": 1.0, "kwh": 1000.0, "mwh": 1e6, "j": 1 / 3600.0, "kj": 1000 / 3600.0},
    "gpus": {"gpus": 1.0, "gpu": 1.0},
    "count": {"items": 1.0, "item": 1.0, "x": 1.0},
    "rate": {"fps": 1.0},
    "tokens": {"tokens": 1.0, "token": 1.0},
}

BASE_UNIT = {"time": "s", "cost": "USD", "energy": "Wh", "gpus": "GPUs", "count": "", "rate": "fps",
             "tokens": "tokens"}


def to_base(q: ast.Quantity, dimension: str, what: str) -> float:
    """``q`` in the base unit of ``dimension``; a clear error if the unit does not fit."""
    if q.unit is None:
        return q.value
    table = UNITS[dimension]
    factor = table.get(q.unit.lower())
    if factor is None:
        raise MurakkabError(
            f"'{q.unit}' is not a unit of {dimension} for {what}", q.span,
            suggestion(q.unit, sorted({u for u in table}), f"{dimension} units"),
        )
    value = q.value * factor
    if not math.isfinite(value):  # 1e308 h: finite as written, infinite in seconds
        raise MurakkabError(f"{q.span.text} is too large for {what}", q.span, "write a sensible value")
    return value


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for one: "1 plan", "3 plans", "2,000 shards"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
