"""Issue 14, item 6: inputs that used to end in an internal error, a wrong position or a
hang are located errors (file:line:col, the line, a caret, a hint; exit 2; no traceback).
The plain mistakes also have scripts in tests/errors/; these are the ones that need the
real command line (a 400-deep recursion, a NUL byte on a terminal, a FIFO that would
block) or a file system."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import murakkab
from murakkab.compiler.probe import input_file_problem
from murakkab.grammar.parser import MAX_NESTING

ROOT = Path(__file__).parent.parent
VIDEO_QA = (ROOT / "examples" / "video_qa.job").read_text(encoding="utf-8")
DOCS = (ROOT / "examples" / "map_reduce_docs_samples.job").read_text(encoding="utf-8")


def cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``murakkab ARGV`` in a fresh interpreter (its own stack depth, its own stdout)."""
    return subprocess.run([sys.executable, "-m", "murakkab", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def located(done: subprocess.CompletedProcess[str], path: Path, line: int, col: int, message: str) -> str:
    """Assert a clean located error; return stderr."""
    err = done.stderr
    assert done.returncode == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith(f"{path}:{line}:{col}: error: {message}"), err
    assert "^" in err.splitlines()[2], err
    return err


def test_list_nested_400_deep_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.job"
    path.write_text("CREATE WORKFLOW w (t " + "LIST<" * 400 + "TEXT" + ">" * 400 + ")\n"
                    "AS (s := summarization (t)) RETURNS s;\n", encoding="utf-8")
    col = len("CREATE WORKFLOW w (t ") + len("LIST<") * MAX_NESTING + 1
    err = located(cli("check", str(path)), path, 1, col, "types nest too deeply")
    assert "hint: at most 32 levels" in err


def test_list_literal_nested_400_deep_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "deep_list.job"
    path.write_text(VIDEO_QA.replace("['samples/road_trip.mp4']", "[" * 400 + "'x.mp4'" + "]" * 400),
                    encoding="utf-8")
    line = next(i for i, s in enumerate(path.read_text().splitlines(), 1) if "[[[" in s)
    col = path.read_text().splitlines()[line - 1].index("[") + MAX_NESTING + 1
    located(cli("check", str(path)), path, line, col, "lists nest too deeply")


@pytest.mark.parametrize("where", ["MINIMIZE", "-- Video", "'What is", "RETURNS answer;"])
def test_a_nul_byte_is_reported_where_it_is(tmp_path: Path, where: str) -> None:
    """Inside a keyword (it used to blame the keyword's first half), a comment, a string
    or after the last statement: the error points at the NUL itself, and the source line
    shows it as a picture (U+2400), never as a raw control character."""
    text = VIDEO_QA.replace(where, where[:3] + "\0" + where[3:], 1)
    path = tmp_path / "nul.job"
    path.write_text(text, encoding="utf-8")
    offset = text.index("\0")
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    err = located(cli("check", str(path)), path, line, col, "a NUL byte (\\0) in the script")
    assert "\0" not in err and "\u2400" in err


def test_assuming_count_1e30_fails_check_not_the_planner(tmp_path: Path) -> None:
    path = tmp_path / "count.job"
    path.write_text(VIDEO_QA.replace("fps = 30)", "fps = 30, count = 1e30)"), encoding="utf-8")
    for command in ("check", "explain"):
        err = cli(command, str(path)).stderr
        assert "statistic 'count' = 1e30 is out of range" in err and "Traceback" not in err, err


@pytest.mark.parametrize("assumption, message", [
    ("count = 2.5", "statistic 'count' is a whole number of items"),
    ("duration = 0 s", "statistic 'duration' = 0 s is out of range"),
    ("fps = 1e6", "statistic 'fps' = 1e6 is out of range"),
    ("count = 1e6, duration = 1000 h", "statistic 'duration' = 1000 h is out of range"),
    ("count = 1e6, duration = 10 h", "would hold 36,000,000,000 s of media in all"),
    ("count = 1e6", "would hold 1,016,000,000 s of media in all"),  # the catalog's default video duration, 1,016 s
])
def test_assuming_statistics_have_sane_ranges(assumption: str, message: str) -> None:
    with pytest.raises(murakkab.MurakkabError, match=message.replace("(", r"\(")) as info:
        murakkab.compile(VIDEO_QA.replace("ASSUMING (duration = 10 min, fps = 30)", f"ASSUMING ({assumption})"))
    assert info.value.span is not None


@pytest.mark.parametrize("slo, message", [
    ("latency <= 1e400 s", "the number 1e400 is too large"),
    ("latency <= 1e307 h", "1e307 h is too large for latency"),
])
def test_non_finite_numbers_are_refused(slo: str, message: str) -> None:
    with pytest.raises(murakkab.MurakkabError, match=message) as info:
        murakkab.compile(VIDEO_QA.replace("WITH SLO (quality >= FAIR)", f"WITH SLO (quality >= FAIR, {slo})"))
    assert info.value.span is not None


def test_check_refuses_what_show_refuses(tmp_path: Path) -> None:
    path = tmp_path / "show.job"
    path.write_text("SHOW NONSENSE;\n", encoding="utf-8")
    checked, shown = cli("check", str(path)), cli("show", str(path))
    assert checked.returncode == shown.returncode == 2
    assert checked.stderr == shown.stderr
    assert "cannot SHOW 'nonsense'" in checked.stderr
    for_clause = tmp_path / "show_for.job"
    for_clause.write_text("SHOW HARDWARE FOR x;\n", encoding="utf-8")
    assert "takes no FOR clause" in cli("check", str(for_clause)).stderr


# -- input files ------------------------------------------------------------------------------------

def test_input_file_problems_say_what_the_path_is(tmp_path: Path) -> None:
    loop_a, loop_b = tmp_path / "a", tmp_path / "b"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone.txt")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    regular = tmp_path / "ok.txt"
    regular.write_text("fine\n")
    link = tmp_path / "link.txt"
    link.symlink_to(regular)

    def message(p: Path | str) -> str:
        problem = input_file_problem(str(p))
        assert problem is not None
        return problem[0]

    assert "is a symbolic link loop" in message(loop_a)
    assert "is a broken symbolic link" in message(dangling)
    assert "is a named pipe (FIFO), not a regular file" in message(fifo)
    assert "is a character device, not a regular file" in message("/dev/zero")
    assert "is a folder, not a file" in message(tmp_path)
    assert "input file not found" in message(tmp_path / "missing.txt")
    assert input_file_problem(str(regular)) is None and input_file_problem(str(link)) is None


@pytest.mark.parametrize("kind", ["loop", "fifo", "device"])
def test_run_names_what_a_bad_input_file_is_without_hanging(tmp_path: Path, kind: str) -> None:
    """`murakkab run` with a symlink loop, a FIFO (no writer: opening it would block) or
    /dev/zero (endless) as a document: a located error within seconds."""
    if kind == "loop":
        bad = tmp_path / "loop"
        bad.symlink_to(tmp_path / "loop2")
        (tmp_path / "loop2").symlink_to(bad)
        what = "is a symbolic link loop"
    elif kind == "fifo":
        bad = tmp_path / "fifo"
        os.mkfifo(bad)
        what = "is a named pipe (FIFO), not a regular file"
    else:
        bad = Path("/dev/zero")
        what = "is a character device, not a regular file"
    reports = ROOT / "samples" / "reports"
    text = DOCS.replace("'../samples/reports/q1.txt'", f"'{bad}'").replace("'../samples/", f"'{reports.parent}/")
    path = tmp_path / "docs.job"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if str(bad) in s)
    col = text.splitlines()[line - 1].index(f"'{bad}'") + 1  # the path itself, refused when bound
    done = cli("run", str(path), "--cache-dir", str(tmp_path / "cache"), timeout=60)
    err = located(done, path, line, col, f"input file {bad} {what}")
    assert "hint:" in err


def test_explain_refuses_a_text_file_named_as_a_video(tmp_path: Path) -> None:
    """EXPLAIN used to plan README.md as a video at the catalog's default length; the run
    then failed to decode it. The path is refused where it is named, before any planning."""
    text = (ROOT / "examples" / "video_qa_samples.job").read_text(encoding="utf-8")
    text = text.replace("'../samples/kitchen.mp4'", f"'{ROOT / 'README.md'}'").replace("'../samples/", f"'{ROOT}/samples/")
    path = tmp_path / "readme_as_video.job"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "README.md" in s)
    col = text.splitlines()[line - 1].index(f"'{ROOT / 'README.md'}'") + 1
    err = located(cli("explain", str(path)), path, line, col, f"{ROOT / 'README.md'} is not a media file this machine can read")
    assert "hint: pass a video or audio file" in err
