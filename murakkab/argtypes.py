"""Number types for command-line flags (argparse ``type=``): a bad value is a one-line
usage error naming the value, never a traceback. ``murakkab`` and ``murakkab serve``
share them."""

from __future__ import annotations

import argparse
import math


def _number(text: str, whole: bool) -> float:
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a {'whole ' if whole else ''}number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def positive_float(text: str) -> float:
    value = _number(text, whole=False)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number > 0")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, whole=False)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative, not a number >= 0")
    return value


def sigma(text: str) -> float:
    """A log-normal sigma for simulated noise: 0 (none) to 2 (a factor of e^2, 7.4x, per sigma)."""
    value = non_negative_float(text)
    if value > 2:
        raise argparse.ArgumentTypeError(f"{text} is too large: a sigma of at most 2 (e^2 = 7.4x per sigma)")
    return value


def positive_int(text: str) -> int:
    value = int(_number(text, whole=True))
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return value


def non_negative_int(text: str) -> int:
    value = int(_number(text, whole=True))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative, not a whole number >= 0")
    return value


def port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value
