"""Shared fixtures and the --regen flag for golden files."""

from __future__ import annotations

from pathlib import Path

import pytest

from murakkab.catalog.catalog import Catalog, default_catalog as _default_catalog

TINY = Path(__file__).parent / "fixtures" / "tiny_catalog"


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
