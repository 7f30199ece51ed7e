"""Tiny arithmetic expressions stored in the catalog (cardinalities, item attributes).

Only numbers, names, ``+ - * /``, parentheses and ``min``/``max``/``ceil`` are allowed:
the text comes from a data file, so it is parsed and checked, never ``eval``-ed.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Callable, Mapping

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: lambda a, b: a / b if b else 0.0,
}
_FUNCS: dict[str, Callable[..., float]] = {"min": min, "max": max, "ceil": lambda x: float(math.ceil(x))}


class ExpressionError(ValueError):
    pass


def names(text: str) -> set[str]:
    """The variable names an expression reads (raises ExpressionError if malformed)."""
    tree = _parse(text)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCS}


def evaluate(text: str, env: Mapping[str, float]) -> float:
    """Evaluate ``text`` with variables from ``env``."""
    return float(_eval(_parse(text).body, env))


def _parse(text: str) -> ast.Expression:
    try:
        tree = ast.parse(text.strip() or "0", mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"malformed expression {text!r}") from exc
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.Constant, ast.Name,
                                 ast.Load, ast.Call, *_BINARY)):
            raise ExpressionError(f"{type(node).__name__} is not allowed in {text!r}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise ExpressionError(f"only {sorted(_FUNCS)} may be called in {text!r}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ExpressionError(f"only numbers are allowed in {text!r}")
    return tree


def _eval(node: ast.AST, env: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise ExpressionError(f"unknown name {node.id!r}")
        return float(env[node.id])
    if isinstance(node, ast.UnaryOp):
        return -_eval(node.operand, env)
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCS[node.func.id](*(_eval(a, env) for a in node.args))
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover - _parse rejects it
