"""Malformed instance files fail with a MurakkabError that points at file:line:col."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from murakkab.compiler.scheduling.formats import read_heft, read_stg, read_wfformat
from murakkab.grammar.diagnostics import MurakkabError

FIXTURES = Path(__file__).parent / "fixtures" / "scheduling"
STG = FIXTURES / "stg" / "50" / "rand0000.stg"
WF = FIXTURES / "wfinstances" / "helloworld-forkjoin-10-chameleon.json"


def _error(fn, *args) -> MurakkabError:  # type: ignore[no-untyped-def]
    with pytest.raises(MurakkabError) as info:
        fn(*args)
    return info.value


def _stg(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "g.stg"
    path.write_text(text)
    return path


def test_truncated_stg_points_past_the_last_line(tmp_path: Path) -> None:
    lines = STG.read_text().splitlines()
    path = _stg(tmp_path, "\n".join(lines[:30]) + "\n")
    err = _error(read_stg, path, 4)
    assert "ends after 29 of the 52 task lines" in err.message
    assert err.span is not None and err.span.line == 31
    assert err.render().startswith(f"{path}:31:")
    assert "truncated" in (err.hint or "")


def test_stg_bad_token_is_underlined(tmp_path: Path) -> None:
    path = _stg(tmp_path, "2\n0 0 0\n1 x 1 0\n2 3 1 0\n3 0 2 1 2\n")
    err = _error(read_stg, path, 2)
    assert "processing time must be an integer, not 'x'" in err.message
    assert err.span is not None and (err.span.line, err.span.col) == (3, 3)
    assert "   3 | 1 x 1 0" in err.render()


def test_stg_wrong_predecessor_count(tmp_path: Path) -> None:
    path = _stg(tmp_path, "1\n0 0 0\n1 4 2 0\n2 0 1 1\n")
    err = _error(read_stg, path, 2)
    assert "declares 2 predecessors but lists 1" in err.message
    assert err.span is not None and (err.span.line, err.span.col) == (3, 5)


def test_stg_forward_predecessor_and_misnumbered_task(tmp_path: Path) -> None:
    err = _error(read_stg, _stg(tmp_path, "1\n0 0 0\n1 4 1 2\n2 0 1 1\n"), 2)
    assert "predecessors come before a task" in err.message and err.span is not None and err.span.line == 3
    err = _error(read_stg, _stg(tmp_path, "1\n0 0 0\n5 4 1 0\n2 0 1 1\n"), 2)
    assert "expected task 1 here, found 5" in err.message


def test_stg_needs_processors(tmp_path: Path) -> None:
    assert "at least 1" in _error(read_stg, STG, 0).message
    assert "no such file" in _error(read_stg, tmp_path / "missing.stg", 2).message


def test_bad_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    path.write_text('{\n  "workflow": {\n    "tasks": [1, 2,]\n  }\n}\n')
    err = _error(read_wfformat, path, 4)
    assert err.message.startswith("invalid JSON")
    assert err.span is not None and err.span.line == 3
    assert err.render().startswith(f"{path}:3:")


def test_truncated_json(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    text = WF.read_text()
    path.write_text(text[: len(text) // 2])
    err = _error(read_wfformat, path, 4)
    assert err.message.startswith("invalid JSON") and err.span is not None and err.span.line > 1


def test_wfformat_missing_runtime_points_at_the_record(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    text = WF.read_text().replace('"runtimeInSeconds": 100.187', '"runtimeInSeconds": "slow"', 1)
    path.write_text(text)
    err = _error(read_wfformat, path, 4)
    assert "runtimeInSeconds 'slow'" in err.message
    assert err.span is not None and err.span.text.startswith('"id"')


def test_wfformat_unknown_parent_and_too_few_cores(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    path.write_text('{"workflow": {"tasks": [{"id": "a", "runtimeInSeconds": 1, "parents": ["zz"]}]}}')
    assert "unknown parent 'zz'" in _error(read_wfformat, path, 1).message
    path.write_text('{"workflow": {"tasks": [{"id": "a", "runtimeInSeconds": 1, "cores": 8, "parents": []}]}}')
    err = _error(read_wfformat, path, 2)
    assert "needs 8 cores; only 2" in err.message and "--cores" in (err.hint or "")
    # WfFormat 1.4's flat list of tasks reads too, with its 'cores' field.
    problem = read_wfformat(path, 8)
    assert problem.tasks[0].options[0].units == 8


def test_heft_directory_errors(tmp_path: Path) -> None:
    assert "no *_task_exe_time.csv" in _error(read_heft, tmp_path).message
    heft = tmp_path / "heft"
    shutil.copytree(FIXTURES / "heft_topcuoglu2002", heft)
    exe = heft / "canonicalgraph_task_exe_time.csv"
    exe.write_text(exe.read_text().replace("T_3,13,8,17", "T_3,13,eight,17"))
    err = _error(read_heft, heft)
    assert "'eight' is not a number" in err.message
    assert err.span is not None and (err.span.line, err.span.col) == (5, 8)
    exe.write_text(exe.read_text().replace("eight", "8"))
    bw = heft / "canonicalgraph_resource_BW.csv"
    bw.write_text(bw.read_text().replace("P_1,1,0,1", "P_1,0,0,1"))
    assert "bandwidth P_1 -> P_0 must be > 0" in _error(read_heft, heft).message


def test_a_byte_order_mark_is_not_part_of_an_instance(tmp_path: Path) -> None:
    # Files saved by Windows tools start with a UTF-8 BOM; the instance is the same.
    for source, read, arg in ((STG, read_stg, 4), (WF, read_wfformat, 4)):
        copy = tmp_path / source.name
        copy.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
        assert len(read(copy, arg).tasks) == len(read(source, arg).tasks)


def test_processors_and_cores_are_bounded_on_the_command_line() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "murakkab", "schedule", "--stg", str(STG), "--processors",
                          "1000000000"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "1,000,000,000 is more than 10,000" in out.stderr


def test_wfformat_edges_named_on_either_side_are_dependencies(tmp_path: Path) -> None:
    """A file that lists only children (or forgets a parent) keeps the order it states:
    the schedule with those edges is longer than without them."""
    path = tmp_path / "wf.json"
    tasks = ('{"id": "a", "runtimeInSeconds": 5, "children": ["b"]}, '
             '{"id": "b", "runtimeInSeconds": 5, "parents": [], "children": ["c"]}, '
             '{"id": "c", "runtimeInSeconds": 5, "parents": ["b"]}')
    path.write_text('{"workflow": {"tasks": [' + tasks + ']}}')
    problem = read_wfformat(path, 4)
    assert sorted((e.src, e.dst) for e in problem.edges) == [("a", "b"), ("b", "c")]
    # Every edge of the published instance is named on both sides: nothing changes there.
    published = read_wfformat(WF, 4)
    assert len({(e.src, e.dst) for e in published.edges}) == len(published.edges)
    path.write_text('{"workflow": {"tasks": [{"id": "a", "runtimeInSeconds": 1, "children": ["zz"]}]}}')
    assert "task 'a' names unknown child 'zz'" in _error(read_wfformat, path, 1).message
    path.write_text('{"workflow": {"tasks": [{"id": "a", "runtimeInSeconds": 1, "children": ["a"]}]}}')
    assert "names itself" in _error(read_wfformat, path, 1).message
    path.write_text('{"workflow": {"tasks": [{"id": "a", "runtimeInSeconds": 1, "children": "b"}]}}')
    assert "'children' must be a list of task ids" in _error(read_wfformat, path, 1).message
