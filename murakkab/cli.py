"""The ``murakkab`` command: a thin layer over the Python API.

Exit codes: 0 success; 2 an error in the script or the command line (message with
file:line:col, the source line and a caret); 3 no plan meets the SLOs (with a
diagnosis); 1 an internal error (reported without a traceback unless MURAKKAB_DEBUG=1).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import errno
import io
import json
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from . import api
from .argtypes import non_negative_float, non_negative_int, positive_float, positive_int, sigma
from .catalog.catalog import Catalog, CatalogError, QueryLimits, default_catalog
from .catalog.show import ShowResult, csv_cell, show, table_text, terminal_width
from .catalog.sql import limits_from_env
from .compiler.explain import estimate_line, fmt_s, fmt_usd, fmt_wh, judged, judged_lines, render_analyze
from .compiler.units import counted
from .compiler.job import DEFAULT_CLUSTER, Settings
from .compiler.physical.planner import InfeasibleError
from .compiler.progress import watching
from .compiler.scheduling.cli import add_schedule_parser, schedule_command, schedule_text
from .compiler.scheduling.quiet import write_stderr
from .grammar.diagnostics import MurakkabError
from .runtime.executor import RunResult
from .runtime.fleet_sim import FLOORS, FORECASTS
from .runtime.fleet_sim import POLICIES as FLEET_POLICIES
from .runtime.local import RunInterrupted, Terminated, sigterm_interrupts
from .runtime.secrets import scrub
from .runtime.progress import ProgressEvent

EXIT_USER, EXIT_INFEASIBLE, EXIT_INTERNAL = 2, 3, 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as our errors (exit 2, no traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise MurakkabError(message, hint=f"see '{self.prog} --help'")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="murakkab", description="Plan and run compound-AI job scripts.")
    p.add_argument("--version", action="version", version=f"murakkab {__version__}")
    # Every command takes --catalog; the default is the embedded in-memory catalog.
    cat = argparse.ArgumentParser(add_help=False)
    cat.add_argument("--catalog", metavar="PATH",
                     help="a catalog file (created and seeded if new); default: $MURAKKAB_CATALOG, else the "
                          "embedded in-memory catalog")
    cat.add_argument("--agents", action="append", metavar="FILE.py|MODULE",
                     help="import agents you wrote (@agent functions) from a Python file or module; repeatable")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", help="a job script (.job)")
        sp.add_argument("--sequential", action="store_true",
                        help="plan as a hand-written workflow: baseline agents, one task at a time, no fan-out "
                             "(same as SET parallelism = off)")
        sp.add_argument("--cluster", help="cluster to plan on when the script does not say (ON CLUSTER); default: "
                                          f"'{DEFAULT_CLUSTER}', this machine, where `murakkab run` runs the plan")

    check = sub.add_parser("check", parents=[cat], help="parse and bind a script; report the first error")
    check.add_argument("file")
    ex = sub.add_parser("explain", parents=[cat], help="show the plan the optimizer chose and why")
    common(ex)
    ex.add_argument("--verbose", action="store_true", help="also print the plan after each rewrite rule that fired")
    ex.add_argument("--format", choices=("text", "json", "dot", "mermaid"), default=None)
    run = sub.add_parser("run", parents=[cat], help="plan and run the script's jobs")
    common(run)
    run.add_argument("--backend", choices=api.BACKENDS, default="local",
                     help="local (default): real agents on this machine; ray: the same on a Ray cluster; "
                          "sim: the simulator on the script's cluster")
    run.add_argument("--address", help="ray: the address of an existing Ray cluster (default: start one here)")
    run.add_argument("--format", choices=("text", "json"), default="text")
    run.add_argument("--seed", type=int, default=None, help="simulator seed (default: SET seed, else 0)")
    run.add_argument("--jitter", type=sigma, default=0.0,
                     help="simulator: sigma of log-normal noise on task durations (default 0: the estimates)")
    run.add_argument("--trace", metavar="FILE", help="write the timeline as Chrome trace / Perfetto JSON")
    run.add_argument("--gantt", metavar="FILE.svg|.png",
                     help="draw the timeline as a Gantt chart per resource (SVG or PNG, by the suffix)")
    run.add_argument("--timeout", type=positive_float, default=None, metavar="S",
                     help="local: seconds a shard may run")
    run.add_argument("--retries", type=non_negative_int, default=2,
                     help="local: retries of a failing shard before fallback (default 2)")
    run.add_argument("--no-cache", action="store_true", help="local: ignore and do not fill the output cache")
    run.add_argument("--cache-dir", metavar="DIR", help="local: the output cache (default ~/.cache/murakkab)")
    show = sub.add_parser("show", parents=[cat], help="answer the SHOW statements of a script")
    show.add_argument("file")
    show.add_argument("--format", choices=FORMATS, default="text")
    sim = sub.add_parser("simulate", parents=[cat],
                         help="replay the request streams of a PLAN FLEET through fleet policies over time")
    sim.add_argument("file", help="a script with a PLAN FLEET statement")
    sim.add_argument("--policy", action="append", choices=FLEET_POLICIES,
                     help="a policy to simulate; repeatable (default: all four, side by side)")
    sim.add_argument("--epoch", type=positive_float, default=60.0, metavar="MIN",
                     help="minutes between re-plans (default 60, as OSDI)")
    sim.add_argument("--provision", type=non_negative_float, default=20.0, metavar="MIN",
                     help="minutes before an instance a plan adds can serve (default 20, as OSDI)")
    sim.add_argument("--window", type=positive_float, default=60.0, metavar="S",
                     help="seconds per load window: forecasts and the auto-scaler (default 60)")
    sim.add_argument("--scale-delay", type=non_negative_float, default=60.0, metavar="S",
                     help="seconds before an instance the auto-scaler adds can serve (default 60: a warm pool)")
    sim.add_argument("--no-autoscale", action="store_true", help="no auto-scaler between epochs")
    sim.add_argument("--forecast", choices=FORECASTS, default=FORECASTS[0],
                     help="how a re-plan forecasts the next epoch (EWMA, alpha 0.5): each window from the "
                          "same window of the last, so shared instances are sized for the combined stream's "
                          "peak (default); or each workflow's peak and mean rate, as OSDI, sized for the sum "
                          "of the peaks")
    sim.add_argument("--floor", choices=FLOORS, default=FLOORS[0],
                     help="what the auto-scaler keeps of a planned fleet: the plan's instances all epoch "
                          "(default), or what each window's forecast load needs of them")
    sim.add_argument("--stretch", type=positive_int, default=1, metavar="K",
                     help="replay each trace K times slower at the same rate (K=24: a day from an hour)")
    sim.add_argument("--duration", type=positive_float, default=None, metavar="MIN",
                     help="minutes of requests for a workflow AT a fixed rate (default: the traces' span, else 60)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--plot", metavar="FILE.svg|.png", help="draw the GPUs provisioned over time")
    sim.add_argument("--format", choices=("text", "json"), default="text")

    add_schedule_parser(sub)
    from .runtime.serve import add_serve_parser  # `murakkab serve`: a fleet plan on Ray Serve

    add_serve_parser(sub, [cat])

    cache = sub.add_parser("cache", help="the output cache of real runs: what it holds, or empty it")
    csub_cache = cache.add_subparsers(dest="cache_command", required=True, parser_class=_Parser)
    for name, text in (("show", "entries and derived media in the cache, and their size"),
                       ("clear", "remove the cache's entries and derived media (not while a run uses it)")):
        c = csub_cache.add_parser(name, help=text)
        c.add_argument("--cache-dir", metavar="DIR", help="the cache (default: $MURAKKAB_CACHE, else ~/.cache/murakkab)")
        c.add_argument("--format", choices=("text", "json"), default="text")

    catalog = sub.add_parser("catalog", help="inspect and maintain the catalog")
    csub = catalog.add_subparsers(dest="catalog_command", required=True, parser_class=_Parser)
    imp = csub.add_parser("import", parents=[cat], help="add rows from a CSV file (all or nothing)")
    imp.add_argument("csv", help="a CSV file whose header names the table's columns")
    imp.add_argument("--table", help="the table (default: the file's name without .csv)")
    sql = csub.add_parser("sql", parents=[cat], help="answer a read-only SQL query over the catalog")
    sql.add_argument("query")
    sql.add_argument("--format", choices=FORMATS, default="text")
    sql.add_argument("--timeout", type=float, metavar="SECONDS", help="stop the query after this long "
                     "(default: $MURAKKAB_SQL_TIMEOUT_S, else 10)")
    sql.add_argument("--memory", metavar="SIZE", help="DuckDB's memory limit for the query, e.g. 512MB "
                     "(default: $MURAKKAB_SQL_MEMORY, else 1GB)")
    sh = csub.add_parser("show", parents=[cat], help="SHOW agents | hardware | profiles | clusters | interfaces "
                                                     "| workflows | statistics")
    sh.add_argument("what")
    sh.add_argument("--for", dest="subject", help="an interface (agents, knobs) or agent (profiles)")
    sh.add_argument("--where", help="a SQL predicate over the columns, e.g. \"kind = 'tool'\"")
    sh.add_argument("--format", choices=FORMATS, default="text")
    prof = csub.add_parser("profile", parents=[cat], help="measure a local agent on this machine and store it")
    prof.add_argument("agent")
    prof.add_argument("--repeats", type=positive_int, default=3,
                      help="timings per measured point, the median kept (default 3; 1 is quicker, noisier)")
    prof.add_argument("--format", choices=("text", "json"), default="text")
    refit = csub.add_parser("refit", parents=[cat],
                            help="update profiles, and the statistics item counts are estimated from, from past runs")
    refit.add_argument("--include-sim", action="store_true",
                       help="also fit to simulated runs (circular: for testing the pipeline only)")
    refit.add_argument("--format", choices=("text", "json"), default="text")
    return p


FORMATS = ("text", "json", "csv")


def _output_paths(args: argparse.Namespace) -> None:
    """Check --trace and --gantt before the run, so a finished run is never lost to a
    file that cannot be written."""
    _drawing("--gantt", args.gantt, "a Gantt chart")
    _writable("--trace", args.trace)


def _drawing(flag: str, name: str | None, what: str) -> None:
    """A picture file (.svg or .png) that can be written, checked before the work."""
    if name and Path(name).suffix.lower() not in (".svg", ".png"):
        raise MurakkabError(f"cannot draw {what} as '{Path(name).name}'", hint="name the file .svg or .png")
    _writable(flag, name)


def _writable(flag: str, name: str | None) -> None:
    if name:
        folder = Path(name).parent
        above = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if above is not None and not above.is_dir():
            raise MurakkabError(f"{flag} {name}: {above} is a file, not a folder", hint="name a path in a folder")
        if not folder.is_dir():
            raise MurakkabError(f"{flag} {name}: the folder {folder} does not exist", hint="create it first")
        if not os.access(folder, os.W_OK):
            raise MurakkabError(f"{flag} {name}: the folder {folder} is not writable")
        if Path(name).is_dir():
            raise MurakkabError(f"{flag} {name} is a folder", hint="name a file")


def _per_job(path: Path, index: int, job: str, jobs: int) -> Path:
    """The file for the ``index``-th (from 1) job's timeline: ``path`` itself for a single
    job, else ``stem.<index>-<job>.suffix``, so no job's file overwrites another's."""
    if jobs == 1:
        return path
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", job).strip("_") or "job"
    return path.with_name(f"{path.stem}.{index}-{safe}{path.suffix}")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "sequential", False):
        settings = replace(settings, parallelism=False)
    if getattr(args, "cluster", None):
        settings = replace(settings, cluster=args.cluster)
    return settings


def _check_cluster_flag(args: argparse.Namespace, catalog: Catalog) -> None:
    if getattr(args, "cluster", None):
        from .grammar.diagnostics import suggestion

        names = [c.name for c in catalog.clusters()]
        if args.cluster not in names:
            raise MurakkabError(f"unknown cluster '{args.cluster}'", hint=suggestion(args.cluster, names, "clusters"))
        backend = getattr(args, "backend", None)
        if args.command == "run" and backend in ("local", "ray"):
            # Real agents run where they are: a plan for another cluster would not be the
            # plan carried out.
            where = "this machine (cluster 'local')" if backend == "local" else "the Ray cluster"
            raise MurakkabError(f"--cluster {args.cluster} does not apply to --backend {backend}, which runs on "
                                f"{where}", hint=f"--backend sim --cluster {args.cluster} simulates the jobs there; "
                                "leave out --cluster to run them here")


def _result_text(outcome: api.JobOutcome) -> str:
    result = outcome.result
    assert result is not None
    t = result.totals
    lines = []
    for name, value in result.outputs:
        lines.append(f"{name}: {value}")
    if result.backend == "sim":
        lines.append(f"RUN {outcome.plan.job} on sim (virtual clock; {result.events} events)")
    else:
        lines.append(f"RUN {outcome.plan.job} on this machine ({counted(result.events, 'shard')}, "
                     f"{counted(result.cache_hits, 'call')} from the cache)")
    lines.append(f"  makespan {fmt_s(t.makespan_s)}, cost {fmt_usd(t.cost_usd)}, energy {fmt_wh(t.energy_wh)}, "
                 f"quality {t.quality:.3f}, gpus {t.gpus}")
    lines.append(f"  estimate: {estimate_line(outcome.plan.estimate)}")
    lines.extend(f"  {line}" for line in judged_lines(outcome.plan, t))
    if result.backend == "sim":
        lines.append("  timeline:")
        for task in outcome.plan.tasks:
            start, end = result.task_span(task.id)
            c = task.candidate
            lines.append(f"    {task.id:<14} {fmt_s(start):>10} .. {fmt_s(end):>10}  {c.agent} on {c.hardware} "
                         f"x{c.units} x {c.fanout} shard{'s' if c.fanout > 1 else ''}")
    else:
        lines.append(render_analyze(outcome.plan, result, width=terminal_width()).rstrip("\n"))
    for note in result.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines) + "\n"


def _result_dict(outcome: api.JobOutcome, catalog: Catalog) -> dict:
    from .compiler.explain import analyze, to_dict

    # With the catalog, the plan shows its plain-words steps' matches (``matched``), as in EXPLAIN.
    out: dict = {"plan": to_dict(outcome.plan, catalog)}
    result: RunResult | None = outcome.result
    if result is not None:
        t = result.totals
        out["result"] = {
            "backend": result.backend, "events": result.events,
            "totals": {"makespan_s": round(t.makespan_s, 6), "cost_usd": round(t.cost_usd, 6),
                       "energy_wh": round(t.energy_wh, 6), "quality": round(t.quality, 6), "gpus": t.gpus},
            "slos": [_rounded(j) for j in judged(outcome.plan, t)],
            "timeline": [{"task": r.task, "shard": r.index, "agent": r.agent, "machine": r.machine,
                          "hardware": r.hardware, "units": r.units, "calls": r.calls, "start_s": round(r.start_s, 6),
                          "end_s": round(r.end_s, 6)} for r in result.timeline],
        }
        if result.backend != "sim":
            rows, median = analyze(outcome.plan, result)
            out["result"].update({
                "outputs": dict(result.outputs), "items": dict(result.items), "cache_hits": result.cache_hits,
                "notes": list(result.notes), "replanned": result.replanned is not None,
                "analyze": {"tasks": [_rounded(asdict(r)) for r in rows],
                            "median_latency_error": None if median is None else round(median, 6)},
            })
    return out


def _rounded(row: dict) -> dict:
    return {k: round(v, 6) if isinstance(v, float) else list(v) if isinstance(v, tuple) else v
            for k, v in row.items()}


def _table_out(columns: list[str], rows: list[tuple], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(columns, map(_jsonable, row))) for row in rows], indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in columns])
        writer.writerows([[csv_cell(v) for v in row] for row in rows])
        return buffer.getvalue()
    return _show_text(ShowResult(columns, rows))


def _show_text(result: ShowResult) -> str:
    return table_text(result.columns, result.rows)


# Catalog files this invocation opened; main() closes them, releasing their locks.
_OPENED: list[Catalog] = []


def _open_catalog(args: argparse.Namespace, writes: bool, limits: QueryLimits | None = None) -> Catalog:
    # $MURAKKAB_CATALOG keeps one catalog file for every command, so what runs learn
    # (observations, refit) is there for the next plan without naming it each time.
    path = getattr(args, "catalog", None) or os.environ.get("MURAKKAB_CATALOG")
    if not path:
        return default_catalog() if limits is None else Catalog(limits=limits)
    try:
        # A new file is created and seeded (a write), whatever the command then does with it.
        catalog = Catalog(path, read_only=not writes and Path(path).exists(), limits=limits)
        _OPENED.append(catalog)
        return catalog
    except CatalogError as exc:
        raise MurakkabError(str(exc), hint=_catalog_hint(str(exc), Path(path))) from None


def _catalog_hint(message: str, path: Path) -> str:
    """What to do about a catalog file that would not open, by what went wrong."""
    message = message.replace(str(path), "")     # a word of the path is no reason
    if "the file is damaged" in message:
        return "the file is damaged (truncated or corrupted); restore it from a copy, or name a new path"
    if re.search(r"\block\b", message, re.I):
        return "another process is writing it; retry when it is done"
    if "not a murakkab catalog" in message:
        return "name a new path (it is created and seeded), or the catalog file you meant"
    if "schema version" in message:
        return "murakkab run or catalog import/refit with --catalog this file migrates it; other commands only read it"
    if re.search(r"permission denied|read-only file system", message, re.I):
        return ("the file or its folder is not writable by you: fix its permissions, or copy it somewhere "
                "writable (commands that record, such as run, need to write it)")
    if path.is_dir():
        return "that is a folder; name a file, e.g. site.duckdb"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist; create it first"
    if path.exists():
        return "it is not a murakkab catalog (a DuckDB file); name a new path to create and seed one"
    return "check the path and its permissions"


# Planning quicker than this shows no progress; slower, a line on stderr at most this
# often. Where stderr is not a terminal (a log, a program reading the error), only work
# that runs for minutes reports, so a short command's stderr is its error alone.
PLANNING_QUIET_S = 2.0
PLANNING_QUIET_LOG_S = 30.0


def _planning_watcher() -> Callable[[str, int, int], None]:
    """Progress of long planning on stderr (``compiler/progress.py``): nothing for the
    first PLANNING_QUIET_S seconds (PLANNING_QUIET_LOG_S when stderr is not a terminal),
    then one line per stage change at most that often, so a plan that takes minutes is
    seen to move."""
    quiet_s = PLANNING_QUIET_S if sys.stderr.isatty() else max(PLANNING_QUIET_S, PLANNING_QUIET_LOG_S)
    start = time.monotonic()
    last = [start]

    def watch(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - start < quiet_s or now - last[0] < quiet_s:
            return
        last[0] = now
        where = f" {done:,}/{total:,}" if total else ""
        # Past quiet(): a solver may be running with standard error silenced.
        write_stderr(f"planning ({now - start:.0f} s): {stage}{where}\n")

    return watch


def _text_width() -> int | None:
    """Columns EXPLAIN's text tables fit: the terminal's (or $COLUMNS); None in a pipe
    without $COLUMNS, where the text is kept whole for files and diffs."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return shutil.get_terminal_size().columns
    return None


def _dispatch(args: argparse.Namespace) -> int:
    with watching(_planning_watcher()):
        return _dispatch_command(args)


def _dispatch_command(args: argparse.Namespace) -> int:
    if getattr(args, "agents", None):
        from .runtime.agents.registry import load_agents

        for ref in args.agents:
            load_agents(ref)
    if args.command == "catalog":
        return _catalog_command(args)
    if args.command == "cache":
        return _cache_command(args)
    if args.command == "schedule":
        report = schedule_command(args)
        sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.format == "json" else schedule_text(report))
        return 0
    if args.command == "serve":
        from .runtime.serve import serve_command

        return serve_command(args, _open_catalog(args, writes=False))
    # The argument is always a file (the API also takes script text).
    script = Path(args.file)
    # Runs record what they did in the catalog (observations), so they open it for writing.
    catalog = _open_catalog(args, writes=args.command == "run")
    _check_cluster_flag(args, catalog)
    if args.command == "check":
        bound = api.compile(script, catalog=catalog)
        counts = [(len(bound.workflows), "workflow"), (len(bound.jobs), "job")]
        if bound.fleets:  # a script of jobs reads as before; a fleet is counted when there is one
            counts.append((len(bound.fleets), "fleet"))
        print(f"{args.file}: ok (" + ", ".join(f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts) + ")")
        from .compiler.explain import matched_lines

        for line in matched_lines(bound.steps, qualified=True):
            print(line)
        return 0
    if args.command == "explain":
        text = api.explain(script, format=args.format, verbose=args.verbose or None, width=_text_width(),
                           settings=_settings(args), catalog=catalog)
        if not text.strip():  # as run and show say when a script has nothing for them
            print(f"{script}: nothing to explain (the script has no RUN or PLAN FLEET statement)", file=sys.stderr)
            text = "[]\n" if args.format == "json" else text  # JSON readers still get one document
        sys.stdout.write(text)
        return 0
    if args.command == "simulate":
        return _simulate(args, script, catalog)
    if args.command == "show":
        results = api.show_all(script, catalog=catalog)
        if not results:
            print(f"{script}: nothing to show (the script has no SHOW statement)", file=sys.stderr)
        if args.format == "json":
            print(json.dumps([{"columns": r.columns, "rows": [list(map(_jsonable, row)) for row in r.rows]}
                              for r in results], indent=2))
        else:
            for r in results:
                sys.stdout.write(_table_out(r.columns, r.rows, args.format))
        return 0
    _output_paths(args)
    progress = _progress_display() if args.backend != "sim" else None
    try:
        outcomes = api.run(script, backend=args.backend, seed=args.seed, jitter=args.jitter,
                           settings=_settings(args), catalog=catalog,
                           cache_dir=Path(args.cache_dir) if args.cache_dir else None, timeout_s=args.timeout,
                           retries=args.retries, use_cache=not args.no_cache, progress=progress,
                           address=args.address)
    finally:
        if isinstance(progress, _LiveProgress):
            progress.close()
    # A fleet is planned (its EXPLAIN), not run: JSON goes into the one document below.
    if args.format == "json":
        fleet_dicts, fleet_text = api.fleet_dicts(script, catalog=catalog, settings=_settings(args)), ""
    else:
        fleet_dicts, fleet_text = [], api.explain_fleets(script, catalog=catalog, settings=_settings(args),
                                                         width=_text_width())
    if not outcomes and not fleet_text and not fleet_dicts:
        print(f"{script}: nothing to run (the script has no RUN statement)", file=sys.stderr)
    for note in dict.fromkeys(n for o in outcomes for n in o.notes):
        print(f"note: {note}", file=sys.stderr)
    sys.stdout.write(fleet_text)
    if args.trace or args.gantt:
        from .runtime.trace import write_gantt, write_trace

        ran = [o for o in outcomes if o.result is not None]
        for index, o in enumerate(ran, 1):
            assert o.result is not None
            for name, write in ((args.trace, write_trace), (args.gantt, write_gantt)):
                if name:
                    path = _per_job(Path(name), index, o.plan.job, len(ran))
                    try:
                        write(o.result, path)
                    except OSError as exc:
                        raise MurakkabError(f"cannot write {path}: {exc.strerror or exc}") from None
                    if len(ran) > 1:
                        print(f"  {o.plan.job}: timeline written to {path}", file=sys.stderr)
    if args.format == "json":
        # One JSON document: each RUN's plan and result, then each PLAN FLEET's plan.
        print(json.dumps([_result_dict(o, catalog) for o in outcomes] + [{"fleet": f} for f in fleet_dicts], indent=2))
        return 0
    for o in outcomes:
        if o.job.explain is not None and o.job.explain.format == "json":
            # EXPLAIN [ANALYZE] FORMAT JSON: one JSON document, the plan and (ANALYZE) the run.
            print(json.dumps(_result_dict(o, catalog), indent=2))
            continue
        if o.job.explain is not None:
            sys.stdout.write(api.render(o.plan, o.job.explain.format, verbose=o.job.explain.verbose, catalog=catalog,
                                        width=_text_width()))
        if o.result is not None:
            sys.stdout.write(_result_text(o))
    return 0


def _simulate(args: argparse.Namespace, script: Path, catalog: Catalog) -> int:
    from .runtime.fleet_sim import SimSettings, results_text, write_plot

    settings = SimSettings(epoch_s=60 * args.epoch, provision_s=60 * args.provision, window_s=args.window,
                           autoscale=not args.no_autoscale, scale_delay_s=args.scale_delay, seed=args.seed,
                           forecast=args.forecast, floor=args.floor)
    policies = tuple(dict.fromkeys(args.policy or FLEET_POLICIES))
    plot = Path(args.plot) if args.plot else None
    _drawing("--plot", args.plot, "the GPUs over time")  # before the simulation, not after it
    results = api.simulate(script, catalog=catalog, policies=policies, settings=settings, stretch=args.stretch,
                           duration_s=60 * args.duration if args.duration else None,
                           progress=lambda line: print(line, file=sys.stderr) if sys.stderr.isatty() else None)
    # The results are printed first: a plot that fails to write loses nothing else.
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        sys.stdout.write(results_text(results))
    if plot is not None:
        try:
            write_plot(results, plot)
        except (OSError, ValueError) as exc:
            raise MurakkabError(f"cannot write {plot}: {exc}") from None
        if args.format != "json":
            print(f"GPUs over time: {plot}")
    return 0


def _progress_display() -> Callable[[ProgressEvent], None] | None:
    """Progress of a real run on stderr: a live rich bar on a terminal, one plain line
    per finished, retried or re-planned shard otherwise (logs, pipes, CI)."""
    if sys.stderr.isatty():
        return _LiveProgress()

    def plain(event: ProgressEvent) -> None:
        if event.kind != "start":
            print(f"  [{event.done}/{event.total}] {event.message}", file=sys.stderr, flush=True)

    return plain


class _LiveProgress:
    """A rich progress bar per job (finished shards of those known so far, the tasks
    running now, time elapsed), with each finished, retried or re-planned shard logged
    above it."""

    STYLE = {"done": "[green]✔[/green]", "retry": "[yellow]↻[/yellow]", "replan": "[magenta]⇄[/magenta]"}

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[job]}[/bold]"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("shards"), TimeElapsedColumn(),
                            TextColumn("{task.description}"), console=console or Console(stderr=True))
        self.bars: dict[str, Any] = {}
        self.running: dict[str, set[tuple[str, int]]] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if not self.bars:
            self.bar.start()
        if event.job not in self.bars:
            self.bars[event.job] = self.bar.add_task("", total=event.total, job=event.job)
            self.running[event.job] = set()
        running = self.running[event.job]
        if event.kind == "start":
            running.add((event.task, event.shard))
        else:
            running.discard((event.task, event.shard))
            self.bar.console.print(f"{self.STYLE[event.kind]} {event.message}", highlight=False)
        tasks = sorted({task for task, _ in running})
        self.bar.update(self.bars[event.job], completed=event.done, total=event.total,
                        description=f"running {', '.join(tasks)}" if tasks else "")

    def close(self) -> None:
        if self.bars:
            self.bar.stop()


def _cache_command(args: argparse.Namespace) -> int:
    from .runtime.cache import cache_usage, clear_cache, default_cache_dir

    root = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    usage = clear_cache(root) if args.cache_command == "clear" else cache_usage(root)
    if args.format == "json":
        print(json.dumps({"cache_dir": str(usage.root), "removed": args.cache_command == "clear",
                          "entries": usage.entries, "entry_bytes": usage.entry_bytes,
                          "media_files": usage.media_files, "media_bytes": usage.media_bytes}, indent=2))
        return 0
    verb = "removed" if args.cache_command == "clear" else "holds"
    print(f"{usage.root} {verb} {usage.entries:,} call outputs ({_mib(usage.entry_bytes)}) and "
          f"{usage.media_files:,} derived media files ({_mib(usage.media_bytes)}); {_mib(usage.total_bytes)} in all")
    return 0


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _catalog_command(args: argparse.Namespace) -> int:
    cmd = args.catalog_command
    # A user's query runs under limits that hold on the connection (memory, threads).
    limits = limits_from_env(args.timeout, args.memory) if cmd == "sql" else None
    catalog = _open_catalog(args, writes=cmd in ("import", "profile", "refit"), limits=limits)
    if cmd == "import":
        from .catalog.importer import import_csv

        report = import_csv(catalog, Path(args.csv), args.table)
        print(f"imported {report.rows_inserted} row{'s' if report.rows_inserted != 1 else ''} into {report.table}"
              + (f" ({args.catalog})" if args.catalog else " (in-memory catalog: use --catalog FILE to keep it)"))
        return 0
    if cmd == "sql":
        from .catalog.sql import run_readonly

        columns, rows = run_readonly(catalog, args.query)
        sys.stdout.write(_table_out(columns, rows, args.format))
        return 0
    if cmd == "show":
        result = show(catalog, args.what.lower(), args.subject, args.where, computed=api.computed_targets(catalog))
        sys.stdout.write(_table_out(result.columns, result.rows, args.format))
        return 0
    if cmd == "profile":
        from .catalog.profiler import profile_agent

        report = profile_agent(catalog, args.agent, repeats=args.repeats)
        if args.format == "json":
            print(json.dumps(_plain(report), indent=2))
        else:
            sys.stdout.write(report.format() + "\n")
        return 0
    from .catalog.cardinality import format_statistic_changes, refit_statistics
    from .catalog.refit import format_changes, refit

    changes = refit(catalog, include_sim=args.include_sim)
    learned = refit_statistics(catalog, include_sim=args.include_sim)
    if args.format == "json":
        print(json.dumps({"profiles": [_plain(c) for c in changes], "statistics": [_plain(c) for c in learned]},
                         indent=2))
    else:
        sys.stdout.write(format_changes(changes) + "\n\n" + format_statistic_changes(learned) + "\n")
    return 0


def _plain(obj: object) -> object:
    """A dataclass tree as JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    return _jsonable(obj)


def _jsonable(v: object) -> object:
    return v if isinstance(v, (int, float, str, bool)) or v is None else str(v)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        with sigterm_interrupts():  # SIGTERM stops a run as Ctrl-C does, workers and all
            code = _dispatch(args)
        sys.stdout.flush()  # a full disk or a failing pipe is reported here, not at exit
        return code
    except InfeasibleError as exc:
        print(scrub(exc.render()), file=sys.stderr)
        return EXIT_INFEASIBLE
    except RunInterrupted as exc:
        print(scrub(exc.render()), file=sys.stderr)
        return 128 + exc.signum  # as shells report a process the signal ended
    except MurakkabError as exc:
        # A user's agent module may have failed with a message that quotes a secret.
        print(scrub(exc.render()), file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt as exc:
        print("terminated" if isinstance(exc, Terminated) else "interrupted", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:
            return _internal(exc)
        # The output could not be written (a full disk, a quota): the user's to fix, and
        # nothing more should be tried on the same descriptor at exit.
        print(f"error: cannot write the output: {exc.strerror}", file=sys.stderr)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        return _internal(exc)
    finally:
        while _OPENED:
            _OPENED.pop().close()


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _internal(exc: Exception) -> int:
    if api.debug_enabled():
        raise exc
    print(f"internal error: {type(exc).__name__}: {scrub(str(exc))}\n"
          "  this is a bug in murakkab; rerun with MURAKKAB_DEBUG=1 for details and please report it",
          file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
