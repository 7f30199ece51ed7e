"""The ``murakkab`` command: a thin layer over the Python API.

Exit codes: 0 success; 2 an error in the script or the command line (message with
file:line:col, the source line and a caret); 3 no plan meets the SLOs (with a
diagnosis); 1 an internal error (reported without a traceback unless MURAKKAB_DEBUG=1).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import replace
from typing import Sequence

from . import api
from .compiler.explain import estimate_line, fmt_s, fmt_usd, fmt_wh
from .catalog.show import ShowResult
from .compiler.job import Settings
from .compiler.physical.planner import InfeasibleError
from .grammar.diagnostics import MurakkabError
from .runtime.executor import RunResult

EXIT_USER, EXIT_INFEASIBLE, EXIT_INTERNAL = 2, 3, 1


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as our errors (exit 2, no traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise MurakkabError(message, hint=f"see '{self.prog} --help'")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="murakkab", description="Plan and run compound-AI job scripts.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"murakkab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", help="a job script (.job)")
        sp.add_argument("--sequential", action="store_true",
                        help="plan as a hand-written workflow: baseline agents, one task at a time, no fan-out "
                             "(same as SET parallelism = off)")
        sp.add_argument("--cluster", help="cluster to plan on when the script does not say (default hotos-testbed)")

    check = sub.add_parser("check", help="parse and bind a script; report the first error")
    check.add_argument("file")
    ex = sub.add_parser("explain", help="show the plan the optimizer chose and why")
    common(ex)
    ex.add_argument("--verbose", action="store_true", help="also print the plan after each rewrite rule that fired")
    ex.add_argument("--format", choices=("text", "json", "dot", "mermaid"), default=None)
    run = sub.add_parser("run", help="plan and run the script's jobs")
    common(run)
    run.add_argument("--backend", choices=api.BACKENDS, default="sim", help="where to run (sim: the simulator)")
    run.add_argument("--format", choices=("text", "json"), default="text")
    run.add_argument("--seed", type=int, default=None, help="simulator seed (default: SET seed, else 0)")
    run.add_argument("--jitter", type=float, default=0.0,
                     help="simulator: sigma of log-normal noise on task durations (default 0: the estimates)")
    show = sub.add_parser("show", help="answer the SHOW statements of a script")
    show.add_argument("file")
    show.add_argument("--format", choices=("text", "json"), default="text")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "sequential", False):
        settings = replace(settings, parallelism=False)
    if getattr(args, "cluster", None):
        settings = replace(settings, cluster=args.cluster)
    return settings


def _check_cluster_flag(args: argparse.Namespace) -> None:
    if getattr(args, "cluster", None):
        from .catalog.catalog import default_catalog
        from .grammar.diagnostics import suggestion

        names = [c.name for c in default_catalog().clusters()]
        if args.cluster not in names:
            raise MurakkabError(f"unknown cluster '{args.cluster}'", hint=suggestion(args.cluster, names, "clusters"))


def _result_text(outcome: api.JobOutcome) -> str:
    result = outcome.result
    assert result is not None
    t = result.totals
    lines = [f"RUN {outcome.plan.job} on {result.backend} (virtual clock; {result.events} events)",
             f"  makespan {fmt_s(t.makespan_s)}, cost {fmt_usd(t.cost_usd)}, energy {fmt_wh(t.energy_wh)}, "
             f"quality {t.quality:.3f}, gpus {t.gpus}",
             f"  estimate: {estimate_line(outcome.plan.estimate)}",
             "  timeline:"]
    for task in outcome.plan.tasks:
        start, end = result.task_span(task.id)
        c = task.candidate
        lines.append(f"    {task.id:<14} {fmt_s(start):>10} .. {fmt_s(end):>10}  {c.agent} on {c.hardware} x{c.units}"
                     f" x {c.fanout} shard{'s' if c.fanout > 1 else ''}")
    return "\n".join(lines) + "\n"


def _result_dict(outcome: api.JobOutcome) -> dict:
    from .compiler.explain import to_dict

    out: dict = {"plan": to_dict(outcome.plan)}
    result: RunResult | None = outcome.result
    if result is not None:
        t = result.totals
        out["result"] = {
            "backend": result.backend, "events": result.events,
            "totals": {"makespan_s": round(t.makespan_s, 6), "cost_usd": round(t.cost_usd, 6),
                       "energy_wh": round(t.energy_wh, 6), "quality": round(t.quality, 6), "gpus": t.gpus},
            "timeline": [{"task": r.task, "shard": r.index, "agent": r.agent, "machine": r.machine,
                          "hardware": r.hardware, "units": r.units, "start_s": round(r.start_s, 6),
                          "end_s": round(r.end_s, 6)} for r in result.timeline],
        }
    return out


def _show_text(result: ShowResult) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(*result.columns, show_lines=False)
    for row in result.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=False, color_system=None).print(table)
    return buffer.getvalue()


def _dispatch(args: argparse.Namespace) -> int:
    _check_cluster_flag(args)
    if args.command == "check":
        bound = api.compile(args.file)
        print(f"{args.file}: ok ({len(bound.workflows)} workflow{'s' if len(bound.workflows) != 1 else ''}, "
              f"{len(bound.jobs)} job{'s' if len(bound.jobs) != 1 else ''})")
        return 0
    if args.command == "explain":
        sys.stdout.write(api.explain(args.file, format=args.format, verbose=args.verbose or None,
                                     settings=_settings(args)))
        return 0
    if args.command == "show":
        results = api.show_all(args.file)
        if args.format == "json":
            print(json.dumps([{"columns": r.columns, "rows": [list(map(_jsonable, row)) for row in r.rows]}
                              for r in results], indent=2))
        else:
            for r in results:
                sys.stdout.write(_show_text(r))
        return 0
    outcomes = api.run(args.file, backend=args.backend, seed=args.seed, jitter=args.jitter, settings=_settings(args))
    if args.format == "json":
        print(json.dumps([_result_dict(o) for o in outcomes], indent=2))
        return 0
    for o in outcomes:
        if o.job.explain is not None:
            sys.stdout.write(api.render(o.plan, o.job.explain.format, verbose=o.job.explain.verbose))
        if o.result is not None:
            sys.stdout.write(_result_text(o))
    return 0


def _jsonable(v: object) -> object:
    return v if isinstance(v, (int, float, str, bool)) or v is None else str(v)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return _dispatch(args)
    except InfeasibleError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INFEASIBLE
    except MurakkabError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        if api.debug_enabled():
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n"
              "  this is a bug in murakkab; rerun with MURAKKAB_DEBUG=1 for details and please report it",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
