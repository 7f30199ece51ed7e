"""Every broken script in tests/errors/ fails `murakkab check` the way its header says.

Each tests/errors/*.job is a small script with one mistake. Its first lines are
comments stating the expected diagnostic:

    -- expect: LINE:COL: substring of the message
    -- hint: substring of the hint line            (optional)

The CLI must exit with 2 (an error in the script), print ``path:LINE:COL: error: ``
followed by the message, the offending source line, a caret line under the fault and
the hint -- and never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from murakkab.cli import EXIT_USER, main
from murakkab.grammar.diagnostics import ELLIPSIS, QUOTED_COLUMNS, MurakkabError, Source, Span

ERRORS = Path(__file__).parent / "errors"
FILES = sorted(ERRORS.glob("*.job"))

_EXPECT = re.compile(r"^--\s*expect:\s*(\d+):(\d+):\s*(.+?)\s*$")
_HINT = re.compile(r"^--\s*hint:\s*(.+?)\s*$")


@dataclass(frozen=True)
class Expectation:
    line: int
    col: int
    message: str
    hint: str | None
    code: int = EXIT_USER


def expectation(path: Path) -> Expectation:
    """The expectation stated by the leading comment lines of ``path``."""
    found: dict[str, object] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.startswith("--"):
            break
        if m := _EXPECT.match(raw):
            found["line"], found["col"], found["message"] = int(m[1]), int(m[2]), m[3]
        elif m := _HINT.match(raw):
            found["hint"] = m[1]
    assert "message" in found, f"{path.name}: no '-- expect: LINE:COL: message' header line"
    return Expectation(found["line"], found["col"], found["message"], found.get("hint"))  # type: ignore[arg-type]


def test_there_are_enough_error_scripts() -> None:
    assert len(FILES) >= 12, f"only {len(FILES)} scripts in {ERRORS}"
    # Both kinds of mistake are covered.
    assert any(p.name.startswith("syntax_") for p in FILES)
    assert any(not p.name.startswith("syntax_") for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_header_is_well_formed(path: Path) -> None:
    exp = expectation(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert 1 <= exp.line <= len(lines), "the expected line is outside the file"
    assert 1 <= exp.col <= len(lines[exp.line - 1]) + 1, "the expected column is outside the line"
    assert not lines[exp.line - 1].lstrip().startswith("--"), "the expected position is inside a comment"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_check_reports_the_expected_error(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    exp = expectation(path)
    code = main(["check", str(path)])
    out, err = capsys.readouterr()

    assert "Traceback" not in out + err
    assert "internal error" not in err
    assert code == exp.code, f"exit code {code}, stderr:\n{err}"
    assert "ok" not in out

    prefix = f"{path}:{exp.line}:{exp.col}: error: "
    assert err.startswith(prefix), f"expected stderr to start with {prefix!r}, got:\n{err}"
    first, *rest = err.rstrip("\n").splitlines()
    assert exp.message in first[len(prefix):], f"message {exp.message!r} not in {first!r}"

    # The offending source line, then a caret line whose first '^' is under the column.
    source_line = path.read_text(encoding="utf-8").splitlines()[exp.line - 1]
    assert len(rest) >= 2, err
    gutter, caret = rest[0], rest[1]
    assert gutter.strip().startswith(f"{exp.line} |"), gutter
    margin = len(f"{exp.line:>4} | ")
    shown = gutter[margin:]
    # A line longer than the diagnostics quote is cut around the fault, marked with '…'.
    lead = ELLIPSIS if len(source_line) > QUOTED_COLUMNS and shown.startswith(ELLIPSIS) else ""
    core = shown[len(lead):].removesuffix(ELLIPSIS) if len(source_line) > QUOTED_COLUMNS else shown
    start = source_line.find(core) if lead else 0
    assert core == source_line[start:start + len(core)], gutter
    assert set(caret.strip()) == {"^"}, caret
    column = margin + len(lead) + exp.col - 1 - start
    assert caret.index("^") == column, f"caret not under column {exp.col}:\n{gutter}\n{caret}"

    hint_lines = [line for line in rest[2:] if line.lstrip().startswith("hint:")]
    if exp.hint is not None:
        assert hint_lines, f"no hint line in:\n{err}"
        assert exp.hint in hint_lines[0], f"hint {exp.hint!r} not in {hint_lines[0]!r}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_api_raises_the_same_error(path: Path) -> None:
    """The Python API raises MurakkabError with the same position (the CLI adds nothing)."""
    import murakkab

    exp = expectation(path)
    with pytest.raises(murakkab.MurakkabError) as info:
        murakkab.compile(path)
    error = info.value
    assert error.span is not None
    assert (error.span.line, error.span.col) == (exp.line, exp.col)
    assert exp.message in error.message
    if exp.hint is not None:
        assert error.hint is not None and exp.hint in error.hint


def test_fixing_the_mistake_makes_the_script_valid() -> None:
    """The error scripts are one mistake away from valid: undoing it checks clean."""
    import murakkab

    fixes = {
        "unknown_interface.job": ("speech_to_txt", "speech_to_text"),
        "syntax_misspelled_create.job": ("CRAETE", "CREATE"),
        "unknown_knob.job": ("frames_per_scen ", "frames_per_scene "),
        "slo_wrong_unit.job": ("5 USD", "5 s"),
    }
    for name, (wrong, right) in fixes.items():
        text = (ERRORS / name).read_text(encoding="utf-8")
        assert wrong in text, name
        murakkab.compile(text.replace(wrong, right), name=name)


# ---------------------------------------------------------------------------
# known product bugs (strict xfails: they start failing when the bug is fixed)
# ---------------------------------------------------------------------------


def test_unknown_setting_points_at_the_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "unknown_setting.job"
    path.write_text("SET paralelism = off;\n", encoding="utf-8")
    assert main(["check", str(path)]) == EXIT_USER
    err = capsys.readouterr().err
    assert "unknown setting 'paralelism'" in err and "did you mean 'parallelism'?" in err
    assert err.startswith(f"{path}:1:5: error: "), err


def test_empty_cluster_name_is_an_error() -> None:
    import murakkab

    with pytest.raises(murakkab.MurakkabError, match="unknown cluster"):
        murakkab.compile("CREATE WORKFLOW w (t TEXT) AS (s := summarization (t)) RETURNS s;\n"
                         "RUN w (t => 'x') ON CLUSTER '';\n")


@pytest.mark.parametrize("at", [3, 2_500, 4_990])
def test_a_long_line_is_quoted_around_the_fault(at: int) -> None:
    # Minified JSON (a WfFormat instance) is one line of kilobytes: the error quotes a
    # piece of it around the fault, marked with '…' where it was cut, the caret under it.
    text = "x" * at + "FAULT" + "y" * (5_000 - at)
    error = MurakkabError("here", Span(Source("big.json", text), at, at + 5))
    _, quoted, caret, *_ = error.render().splitlines()
    margin = "   1 | "
    assert quoted.startswith(margin) and len(quoted) <= len(margin) + QUOTED_COLUMNS + 2
    assert (quoted[len(margin)] == ELLIPSIS) == (at > QUOTED_COLUMNS // 4)
    assert quoted.endswith(ELLIPSIS) == (at < 5_000 - QUOTED_COLUMNS)
    assert quoted[caret.index("^"):caret.index("^") + 5] == "FAULT" and caret.strip() == "^^^^^"


def test_a_file_that_is_not_utf8_is_located_at_its_first_bad_byte(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "latin1.job"
    script.write_bytes("SET seed = 1;\nRUN x (a => 'café');\n".encode("latin-1"))
    assert main(["check", str(script)]) == EXIT_USER
    err = capsys.readouterr().err
    assert err.startswith(f"{script}:2:17: error: byte 0xe9 is not UTF-8 text")
    assert "iconv" in err and "Traceback" not in err


def test_a_vertical_tab_is_whitespace_as_a_form_feed_is() -> None:
    from murakkab.grammar.parser import parse

    assert len(parse("SET seed = 1;\v\nSET seed = 2;\f\n").statements) == 2
