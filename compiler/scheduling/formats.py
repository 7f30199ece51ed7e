"""Readers for published scheduling instances.

- STG (Standard Task Graph Set, Kasahara Lab): ``n``, then ``n + 2`` lines
  ``id time n_preds pred...`` (tasks 0 and n+1 are the dummy entry and exit, of time 0),
  then ``#`` comments. Scheduled on ``processors`` identical processors: one pool of that
  capacity, no communication cost.
- HEFT CSVs (the Topcuoglu 2002 example as published with the HEFT reference code): a
  directory with ``*_task_exe_time.csv`` (time per task and processor),
  ``*_task_connectivity.csv`` (data volume per edge, 0 for none) and optionally
  ``*_resource_BW.csv`` (bandwidth between processors). Each processor is a pool of
  capacity 1; an edge costs ``data / bandwidth`` seconds between different processors and
  nothing on the same one. Without a bandwidth file, bandwidth is 1.
- WfFormat JSON (WfCommons 1.5, and 1.4's flat ``workflow.tasks``): tasks with
  ``runtimeInSeconds``, ``parents`` and ``children`` (an edge named on either side is a
  dependency), on one pool of ``cores`` cores; a task holds its
  ``coreCount`` (1.5) or ``cores`` (1.4) cores, 1 if absent. File transfers are not
  modelled.

A malformed file raises ``MurakkabError`` pointing at the file, line and column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from ...grammar.diagnostics import MurakkabError, Source, Span
from .problem import Edge, Option, Pool, Problem, Task


def _read(path: Path) -> Source:
    try:
        return Source(str(path), path.read_text(encoding="utf-8-sig"))  # a BOM is not data
    except FileNotFoundError:
        raise MurakkabError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MurakkabError(f"cannot read {path}: {exc}") from None


def _line_span(src: Source, line: int, col: int = 1, width: int = 1) -> Span:
    """A span at 1-based ``line``/``col`` (the end of the text when the line is past it)."""
    starts = [0] + [m.end() for m in re.finditer("\n", src.text)]
    if line > len(starts):
        return Span(src, len(src.text), len(src.text))
    start = starts[line - 1] + col - 1
    return Span(src, start, min(start + width, len(src.text)))


# --- STG -------------------------------------------------------------------------------


def read_stg(path: str | Path, processors: int) -> Problem:
    """An STG file on ``processors`` identical processors."""
    if processors < 1:
        raise MurakkabError(f"--processors must be at least 1 (got {processors})")
    src = _read(Path(path))
    # Data lines: (line number, tokens with their columns); '#' starts a comment to the end.
    rows: list[tuple[int, list[tuple[str, int]]]] = []
    for no, line in enumerate(src.text.split("\n"), start=1):
        body = line.split("#", 1)[0]
        toks = [(m.group(), m.start() + 1) for m in re.finditer(r"\S+", body)]
        if toks:
            rows.append((no, toks))
    if not rows:
        raise MurakkabError("empty STG file", Span(src, 0, 0), hint="the first line is the number of tasks")

    def integer(no: int, tok: tuple[str, int], what: str) -> int:
        text, col = tok
        try:
            value = int(text)
        except ValueError:
            raise MurakkabError(f"{what} must be an integer, not '{text}'", _line_span(src, no, col, len(text))) \
                from None
        if value < 0:
            raise MurakkabError(f"{what} must be >= 0, not {value}", _line_span(src, no, col, len(text)))
        return value

    no, toks = rows[0]
    if len(toks) != 1:
        raise MurakkabError("the first line must be the number of tasks alone", _line_span(src, no, toks[1][1]))
    n = integer(no, toks[0], "the number of tasks")
    if len(rows) - 1 < n + 2:
        last = rows[-1][0]
        raise MurakkabError(f"the file ends after {len(rows) - 1} of the {n + 2} task lines (n = {n} plus the "
                            f"dummy entry and exit)", _line_span(src, last + 1), hint="the file may be truncated")
    tasks: list[Task] = []
    edges: list[Edge] = []
    for expect, (no, toks) in enumerate(rows[1:n + 3]):
        if len(toks) < 3:
            raise MurakkabError("a task line is 'id time n_preds pred...'", _line_span(src, no, toks[0][1]))
        tid = integer(no, toks[0], "the task id")
        if tid != expect:
            raise MurakkabError(f"expected task {expect} here, found {tid}", _line_span(src, no, toks[0][1],
                                                                                       len(toks[0][0])))
        time_ = integer(no, toks[1], "the processing time")
        k = integer(no, toks[2], "the number of predecessors")
        if len(toks) != 3 + k:
            raise MurakkabError(f"task {tid} declares {k} predecessors but lists {len(toks) - 3}",
                                _line_span(src, no, toks[2][1], len(toks[2][0])))
        for tok in toks[3:]:
            p = integer(no, tok, "a predecessor id")
            if p >= tid:
                raise MurakkabError(f"task {tid} names predecessor {p}; predecessors come before a task",
                                    _line_span(src, no, tok[1], len(tok[0])))
            edges.append(Edge(f"t{p}", f"t{tid}"))
        tasks.append(Task(f"t{tid}", (Option("P", float(time_), label="P"),)))
    if len(rows) > n + 3:
        no, toks = rows[n + 3]
        raise MurakkabError(f"unexpected data after the {n + 2} task lines", _line_span(src, no, toks[0][1]))
    return Problem(f"{Path(path).name} on {processors} processors", (Pool("P", processors),), tuple(tasks),
                   tuple(edges), source=str(path))


# --- HEFT CSVs -------------------------------------------------------------------------


def _csv_matrix(src: Source) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """A CSV with a header row and a name column: (column names, [(row name, values)])."""
    rows = list(csv.reader(io.StringIO(src.text)))
    if not rows or len(rows[0]) < 2:
        raise MurakkabError("expected a header row 'name,col1,col2,...'", Span(src, 0, 0))
    header = [h.strip() for h in rows[0][1:]]
    out = []
    for no, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header) + 1:
            raise MurakkabError(f"{len(row)} fields; the header has {len(header) + 1}", _line_span(src, no))
        values = []
        col = len(row[0]) + 2
        for cell in row[1:]:
            try:
                v = float(cell)
            except ValueError:
                raise MurakkabError(f"'{cell.strip()}' is not a number", _line_span(src, no, col, max(1, len(cell)))) \
                    from None
            if not v >= 0 or v == float("inf"):
                raise MurakkabError(f"{cell.strip()} must be a finite number >= 0", _line_span(src, no, col, len(cell)))
            values.append(v)
            col += len(cell) + 1
        out.append((row[0].strip(), values))
    return header, out


def _one(directory: Path, suffix: str, required: bool = True) -> Path | None:
    found = sorted(directory.glob(f"*{suffix}"))
    if len(found) > 1:
        raise MurakkabError(f"{directory} has several *{suffix} files: {', '.join(p.name for p in found)}")
    if not found:
        if required:
            raise MurakkabError(f"{directory} has no *{suffix} file",
                                hint="a HEFT instance is *_task_exe_time.csv, *_task_connectivity.csv and "
                                     "optionally *_resource_BW.csv")
        return None
    return found[0]


def _key(name: str) -> str:
    # The published files name a task T_0 in one file and T0 in the other.
    return name.replace("_", "").upper()


def read_heft(directory: str | Path) -> Problem:
    """A HEFT instance directory (see the module docstring)."""
    d = Path(directory)
    if not d.is_dir():
        raise MurakkabError(f"{d} is not a directory", hint="--heft takes the directory holding the CSV files")
    exe_path, conn_path = _one(d, "_task_exe_time.csv"), _one(d, "_task_connectivity.csv")
    assert exe_path is not None and conn_path is not None
    bw_path = _one(d, "_resource_BW.csv", required=False)
    exe_src, conn_src = _read(exe_path), _read(conn_path)
    procs, exe = _csv_matrix(exe_src)
    if not exe:
        raise MurakkabError("no tasks", Span(exe_src, 0, 0))
    names = [name for name, _ in exe]
    if len(set(map(_key, names))) != len(names):
        raise MurakkabError("a task is listed twice", Span(exe_src, 0, 0))
    cols, conn = _csv_matrix(conn_src)
    if [_key(c) for c in cols] != [_key(n) for n in names] or [_key(r) for r, _ in conn] != [_key(n) for n in names]:
        raise MurakkabError(f"the connectivity matrix must list the tasks of {exe_path.name} in the same order, "
                            "as rows and as columns", _line_span(conn_src, 1))
    bandwidth = [[0.0 if i == j else 1.0 for j in range(len(procs))] for i in range(len(procs))]
    if bw_path is not None:
        bw_src = _read(bw_path)
        bw_cols, bw = _csv_matrix(bw_src)
        want = [_key(p) for p in procs]
        if [_key(c) for c in bw_cols] != want or [_key(r) for r, _ in bw] != want:
            raise MurakkabError(f"the bandwidth matrix must list the processors of {exe_path.name} "
                                f"({', '.join(procs)}) as rows and columns", _line_span(bw_src, 1))
        for i, (_, row) in enumerate(bw):
            for j, v in enumerate(row):
                if i != j and v <= 0:
                    raise MurakkabError(f"bandwidth {procs[i]} -> {procs[j]} must be > 0", _line_span(bw_src, i + 2))
        bandwidth = [row for _, row in bw]
    pools = tuple(Pool(p, 1) for p in procs)
    tasks = tuple(Task(name, tuple(Option(p, exe[t][1][j], label=p) for j, p in enumerate(procs)))
                  for t, name in enumerate(names))
    edges = []
    for i, (_, row) in enumerate(conn):
        for j, data in enumerate(row):
            if data > 0:
                table = tuple(tuple(0.0 if a == b else data / bandwidth[a][b] for b in range(len(procs)))
                              for a in range(len(procs)))
                edges.append(Edge(names[i], names[j], table))
    return Problem(f"{d.name} on {len(procs)} processors", pools, tasks, tuple(edges), source=str(d))


# --- WfFormat --------------------------------------------------------------------------


def read_wfformat(path: str | Path, cores: int) -> Problem:
    """A WfCommons instance on one pool of ``cores`` cores."""
    if cores < 1:
        raise MurakkabError(f"--cores must be at least 1 (got {cores})")
    src = _read(Path(path))
    try:
        doc = json.loads(src.text)
    except json.JSONDecodeError as exc:
        raise MurakkabError(f"invalid JSON: {exc.msg}", Span(src, exc.pos, exc.pos + 1)) from None

    def at(needle: str) -> Span:
        # JSON has no positions once parsed: point at the first occurrence of the text.
        i = src.text.find(needle)
        return Span(src, max(i, 0), max(i, 0) + (len(needle) if i >= 0 else 0))

    def record(tid: str) -> Span:
        # The last '"id": "<tid>"' is the execution record in 1.5 (after the specification).
        found = list(re.finditer(r'"id"\s*:\s*' + re.escape(json.dumps(tid)), src.text))
        return Span(src, found[-1].start(), found[-1].end()) if found else at(json.dumps(tid))

    wf = doc.get("workflow") if isinstance(doc, dict) else None
    if not isinstance(wf, dict):
        raise MurakkabError("not a WfFormat instance: no 'workflow' object", Span(src, 0, 1))
    spec = wf.get("specification")
    if isinstance(spec, dict):  # WfFormat 1.5: shape in specification, runtimes in execution
        shape = spec.get("tasks")
        execution = wf.get("execution", {})
        runs = execution.get("tasks") if isinstance(execution, dict) else None
        if not isinstance(runs, list):
            raise MurakkabError("no workflow.execution.tasks: the runtimes are missing", at('"specification"'))
    else:  # WfFormat 1.4: one list of tasks with everything
        shape = runs = wf.get("tasks")
    if not isinstance(shape, list) or not shape:
        raise MurakkabError("no tasks in the workflow", at('"workflow"'))
    by_id: dict[str, dict] = {}
    for r in runs:
        if isinstance(r, dict) and isinstance(r.get("id"), str):
            by_id[r["id"]] = r
    tasks = []
    edges = []
    ids: set[str] = set()
    for entry in shape:
        if not isinstance(entry, dict) or not isinstance(entry.get("id", entry.get("name")), str):
            raise MurakkabError("a task without an 'id'", at(json.dumps(entry)[:40]) if entry else Span(src, 0, 1))
        tid = entry.get("id", entry.get("name"))
        run = by_id.get(tid)
        if run is None:
            raise MurakkabError(f"task '{tid}' has no execution record (runtimeInSeconds)", record(tid))
        runtime = run.get("runtimeInSeconds", run.get("runtime"))
        if not isinstance(runtime, (int, float)) or isinstance(runtime, bool) or not 0 <= runtime < float("inf"):
            raise MurakkabError(f"task '{tid}' has runtimeInSeconds {runtime!r}; expected a number >= 0",
                                record(tid))
        need = run.get("coreCount", run.get("cores", 1))
        if not isinstance(need, (int, float)) or isinstance(need, bool) or need < 1 or need != int(need):
            raise MurakkabError(f"task '{tid}' has core count {need!r}; expected a positive integer", record(tid))
        if need > cores:
            raise MurakkabError(f"task '{tid}' needs {int(need)} cores; only {cores} are available",
                                record(tid), hint="raise --cores")
        tasks.append(Task(tid, (Option("cores", float(runtime), units=int(need), label="cores"),)))
        ids.add(tid)
        for side in ("parents", "children"):
            named = entry.get(side, [])
            if not isinstance(named, list) or not all(isinstance(x, str) for x in named):
                raise MurakkabError(f"task '{tid}': '{side}' must be a list of task ids", at(json.dumps(tid)))
            for other in named:
                edges.append((other, tid, side) if side == "parents" else (tid, other, side))
    # An edge is a dependency whichever side names it: generators list both, but a file
    # that names only children (or forgets one parent) must not lose the order it states.
    unique: dict[tuple[str, str], None] = {}
    for p, c, side in edges:
        named, by = (p, c) if side == "parents" else (c, p)
        if named not in ids:
            kind = "parent" if side == "parents" else "child"
            raise MurakkabError(f"task '{by}' names unknown {kind} '{named}'", at(json.dumps(named)))
        if p == c:
            raise MurakkabError(f"task '{p}' names itself among its {side}", record(p))
        unique[(p, c)] = None
    name = doc.get("name") if isinstance(doc.get("name"), str) else Path(path).stem
    return Problem(f"{name} on {cores} cores", (Pool("cores", cores),), tuple(tasks),
                   tuple(Edge(p, c) for p, c in unique), source=str(path))
