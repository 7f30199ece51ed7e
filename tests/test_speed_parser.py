"""The parser's fast path (the AST built as Lark reduces, ``parser._fast_parse``) against
the tree path it replaces (parse tree, nesting check, ``_ToAst.transform``): the same
AST, spans included, wherever the tree path succeeds, and a failure wherever it fails
(``parse`` then reports the tree path's own error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from murakkab.grammar import parser
from murakkab.grammar.diagnostics import MurakkabError, Source
from tests.test_fuzz import mutated_example, token_soup, well_formed_script

ROOT = Path(__file__).parent.parent
SCRIPTS = sorted([*ROOT.glob("examples/*.job"), *ROOT.glob("tests/errors/*.job"), *ROOT.glob("catalog/seed/*.job")])
SAME = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tree_path(text: str, source: Source):
    tree = parser._lark().parse(text)
    parser._check_nesting(tree, source)
    return parser._ToAst(source).transform(tree)


def _check_same(text: str) -> None:
    source = Source("<test>", text)
    try:
        expected = _tree_path(text, source)
    except Exception:  # noqa: BLE001 - the tree path fails: so must the fast path
        with pytest.raises(Exception):
            parser._fast_parse(text, source)
        return
    assert parser._fast_parse(text, source) == expected


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_fast_path_builds_the_tree_paths_ast(path: Path) -> None:
    _check_same(path.read_text(encoding="utf-8"))


def test_fast_path_on_a_large_workflow() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from workloads import big_workflow

    _check_same(big_workflow(300))


@pytest.mark.parametrize("text", [
    "",
    ";",
    "SET seed = 42;",
    "SET seed = 42 RUN w ();",
    "SET x = [[[1]]];",
    "SET x = [" * 40 + "]" * 40 + ";",
    "CREATE WORKFLOW w (x " + "LIST<" * 40 + "TEXT" + ">" * 40 + ") AS (a := f (x)) RETURNS a;",
    "SET x = 1e400;",
    "SHOW agents WHERE name LIKE 'llama%' AND (units >= 2 OR kind = 'tool');",
    "EXPLAIN VERBOSE FORMAT json RUN w (a => 1);",
])
def test_fast_path_on_edge_cases(text: str) -> None:
    _check_same(text)


def test_errors_are_the_tree_paths() -> None:
    # A fault the fast path meets (here a number too large, inside a list nested too
    # deeply) is reported as the tree path reports it: the nesting first.
    text = "SET x = " + "[" * 40 + "1e400" + "]" * 40 + ";"
    with pytest.raises(MurakkabError) as error:
        parser.parse(text)
    assert "nest too deeply" in error.value.message


@SAME
@given(well_formed_script())
def test_fast_path_on_well_formed_scripts(text: str) -> None:
    _check_same(text)


@SAME
@given(mutated_example())
def test_fast_path_on_mutated_examples(text: str) -> None:
    _check_same(text)


@SAME
@given(token_soup())
def test_fast_path_on_token_soup(text: str) -> None:
    _check_same(text)
