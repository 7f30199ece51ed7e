"""Shared fixtures and the --regen flag for golden files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from murakkab.catalog.catalog import Catalog, default_catalog as _default_catalog

TINY = Path(__file__).parent / "fixtures" / "tiny_catalog"

# CI (and ../shared/tools/fresh-clone-check, which sets CI) replays the same examples on
# every run, so a commit is green or red by its code alone; elsewhere hypothesis keeps
# exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen", action="store_true", default=False,
                     help="rewrite golden files (EXPLAIN goldens, rule fixtures) instead of comparing")


@pytest.fixture(scope="session")
def tiny_catalog() -> Catalog:
    """A catalog with round numbers (tests/fixtures/tiny_catalog) for hand-computed tests."""
    return Catalog(seed_dir=TINY)


@pytest.fixture(scope="session")
def default_catalog() -> Catalog:
    return _default_catalog()
