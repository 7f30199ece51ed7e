"""Golden-file helpers: compare text with a file, or rewrite the file under --regen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def regen_requested(request: pytest.FixtureRequest) -> bool:
    """``pytest --regen`` (or MURAKKAB_REGEN=1) rewrites golden files instead of comparing."""
    return bool(request.config.getoption("--regen", default=False)) or os.environ.get("MURAKKAB_REGEN") == "1"


def check_text(path: Path, actual: str, regen: bool) -> None:
    if regen or not path.exists():
        path.write_text(actual, encoding="utf-8")
        if not regen:
            pytest.fail(f"{path} did not exist; written now; review it and rerun")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs; rerun with --regen to accept the new output and review the diff"
