"""The Python API: compile, optimize, explain and run job scripts from a program.

    >>> import murakkab
    >>> plans = murakkab.optimize('''
    ...   CREATE WORKFLOW w (clips LIST<VIDEO>) AS (t := speech_to_text (clips)) RETURNS t;
    ...   RUN w (clips => ['a.mp4', 'b.mp4']) MINIMIZE latency;''')
    >>> plans[0].tasks[0].interface
    'speech_to_text'

The CLI (``murakkab.cli``) is a thin layer over these functions.
"""

from __future__ import annotations

import json
import os
import platform
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Union

from .catalog.catalog import LOCAL_CLUSTER, Catalog, default_catalog
from .catalog.cardinality import CardinalityRow, record_cardinalities
from .catalog.refit import ObservationRow, record_observations
from .catalog.show import ShowResult, show
from .compiler.bind import BoundScript, compile_script
from .grammar import ast
from .compiler.explain import render_dot, render_json, render_mermaid, render_text
from .compiler.fleet.explain import plan_dict as fleet_plan_dict
from .compiler.fleet.explain import render_json as render_fleet_json
from .compiler.fleet.explain import render_text as render_fleet_text
from .compiler.fleet.bind import BoundFleet
from .compiler.fleet.plan import FleetPlan, plan_fleet
from .compiler.job import DEFAULT_CLUSTER, BoundJob, Settings
from .compiler.physical.plan import PhysicalPlan
from .compiler.joint import combine
from .compiler.physical.candidates import frame_rate, work_of
from .compiler.physical.cost import candidate_power_w
from .compiler.physical.planner import plan_group, plan_job
from .compiler.physical.replan import Replan, replan_without
from .compiler.physical.tiers import WORKFLOW_COLUMNS, workflow_tier_rows
from .grammar.diagnostics import MurakkabError, Source, Span
from .runtime.executor import RunResult
from .runtime.fleet_sim import POLICIES as FLEET_POLICIES
from .runtime.fleet_sim import PolicyResult, SimSettings
from .runtime.fleet_sim import simulate as simulate_fleet
from .runtime.local import LOCAL_CORE, LocalExecutor
from .runtime.progress import Progress
from .runtime.simulator import Simulator

Script = Union[str, Path]
BACKENDS = ("local", "ray", "sim")


def _read(script: Script, name: str | None) -> tuple[str, str]:
    """(text, name): a Path or the path of an existing file is read; other strings are script text."""
    if isinstance(script, Path) or ("\n" not in script and ";" not in script and script.endswith(".job")):
        path = Path(script)
        try:
            # utf-8-sig: a byte-order mark (as Windows editors write) is not part of the script.
            return path.read_text(encoding="utf-8-sig"), name or str(script)
        except OSError as exc:
            raise MurakkabError(f"cannot read {script}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            # Located as any mistake: the text decoded with the bad byte replaced.
            text = exc.object.decode("utf-8-sig", errors="replace")
            at = exc.object[:exc.start].decode("utf-8-sig", errors="replace")
            span = Span(Source(name or str(script), text), len(at), len(at) + 1)
            raise MurakkabError(f"byte 0x{exc.object[exc.start]:02x} is not UTF-8 text", span,
                                "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.job > out.job)") from None
    return script, name or "<string>"


def compile(script: Script, *, catalog: Catalog | None = None, settings: Settings | None = None,  # noqa: A001
            name: str | None = None) -> BoundScript:
    """Parse and bind a script (text or path) against the catalog (with the agents
    registered in Python that it has no rows for: :func:`attach_user_agents`)."""
    text, source_name = _read(script, name)
    cat = catalog or default_catalog()
    attach_user_agents(cat)
    return compile_script(text, source_name, cat, settings)


# What the planner assumes of an agent registered in Python that the catalog has no rows
# for, until runs teach it (``catalog refit``) or the user imports rows.
USER_AGENT_QUALITY = 0.5
USER_AGENT_SECONDS_PER_CALL = 1.0


def attach_user_agents(catalog: Catalog) -> tuple[str, ...]:
    """Give every registered agent the catalog lacks a session-only catalog entry (not
    stored): quality and one-core time per call are defaults, said so in their sources.
    Returns the names attached now."""
    from .catalog.catalog import Agent, Profile
    from .runtime.agents import registry

    specs = registry.registered()
    # An agent unregistered since it was attached is gone from plans too.
    catalog.detach_agents(set(catalog.attached_agents()) - {spec.name for spec in specs})
    attached = []
    for spec in specs:
        if catalog.agent(spec.name) is not None or catalog.interface(spec.interface) is None:
            continue
        hint = ("murakkab catalog import agents.csv / profiles.csv, or `catalog refit` after runs with "
                "--catalog FILE")
        agent = Agent(spec.name, spec.interface, "tool", "", spec.description or f"{spec.name} (Python)",
                      USER_AGENT_QUALITY, f"default:registered in Python, no quality known; {hint}", False)
        profile = Profile(spec.name, LOCAL_CORE, 1, 0.0, USER_AGENT_SECONDS_PER_CALL, 0.0, 1.0,
                          f"default:registered in Python, {USER_AGENT_SECONDS_PER_CALL:g} s per call on one core "
                          f"assumed; {hint}")
        catalog.attach_agent(agent, (profile,))
        attached.append(spec.name)
    return tuple(attached)


def job_groups(bound: BoundScript) -> list[list[BoundJob]]:
    """Jobs planned together: consecutive RUNs on one cluster with the same goals form a
    group (planned jointly, for those goals); each EXPLAIN is its own group. A RUN that
    asks for another goal starts a group of its own: one plan has one objective."""
    groups: list[list[BoundJob]] = []
    for job in bound.jobs:
        last = groups[-1] if groups else None
        if (last and job.explain is None and last[-1].explain is None and last[-1].cluster == job.cluster
                and last[-1].settings == job.settings and last[-1].goals == job.goals):
            last.append(job)
        else:
            groups.append([job])
    return groups


def on_this_machine(job: BoundJob) -> BoundJob:
    """A job for the cluster 'local' (this machine) planned with the agents that run here,
    as ``run`` executes it; so EXPLAIN on 'local' shows the plan a real run carries out.
    A job for any other cluster is returned as it is (a modelled cluster: every agent)."""
    if job.cluster != LOCAL_CLUSTER or job.settings.available_agents is not None:
        return job
    return replace(job, settings=replace(job.settings, available_agents=local_agents(),
                                         unavailable_agents=unavailable_agents()))


def optimize(script: Script | BoundScript | BoundJob, *, catalog: Catalog | None = None,
             settings: Settings | None = None) -> list[PhysicalPlan]:
    """Physical plans for a script: one per EXPLAIN RUN, and one per run of consecutive
    RUNs on the same cluster (planned jointly); or the plan of one bound job. Without ON
    CLUSTER (or ``settings.cluster``) a job is planned for this machine, as ``run`` runs it."""
    cat = catalog or default_catalog()
    if isinstance(script, BoundJob):
        return [plan_job(on_this_machine(script), cat)]
    bound = script if isinstance(script, BoundScript) else compile(script, catalog=cat, settings=settings)
    return [p for group in job_groups(bound) for p in plan_group([on_this_machine(j) for j in group], cat)]


def planned(group: list[BoundJob], catalog: Catalog) -> list[tuple[BoundJob, PhysicalPlan]]:
    """Each job a group of RUNs runs as, with its plan: the jobs combined under their
    joint plan, or each alone where the joint plan was worse (``plan_group``)."""
    plans = plan_group(group, catalog)
    if len(plans) == 1:
        return [(group[0] if len(group) == 1 else combine(group), plans[0])]
    return list(zip(group, plans))


def render(plan: PhysicalPlan, fmt: str = "text", *, verbose: bool = False, catalog: Catalog | None = None,
           where: str | None = None, width: int | None = None) -> str:
    """A plan as EXPLAIN shows it; ``width``: the text's tables fit that many columns
    (None: full width)."""
    cat = catalog or default_catalog()
    if fmt == "text":
        return render_text(plan, cat, verbose=verbose, where=where, width=width)
    if fmt == "json":
        return render_json(plan, cat)
    if fmt == "dot":
        return render_dot(plan)
    if fmt == "mermaid":
        return render_mermaid(plan)
    raise MurakkabError(f"unknown format '{fmt}'", hint="one of text, json, dot, mermaid")


def explain(script: Script, *, format: str | None = None, verbose: bool | None = None,  # noqa: A002
            catalog: Catalog | None = None, settings: Settings | None = None, name: str | None = None,
            width: int | None = None) -> str:
    """EXPLAIN every job of a script; arguments override the script's EXPLAIN options.
    ``width``: text tables fit that many columns (None: full width)."""
    cat = catalog or default_catalog()
    parts, formats = [], []
    bound = compile(script, catalog=cat, settings=settings, name=name)
    for group in job_groups(bound):
        options = group[0].explain
        fmt = format or (options.format if options else "text")
        verb = verbose if verbose is not None else bool(options and options.verbose)
        for job, plan in planned([on_this_machine(j) for j in group], cat):
            span = job.span
            text = render(plan, fmt, verbose=verb, catalog=cat, where=span.where() if span else None, width=width)
            if fmt == "text" and all(defaulted_cluster(j) for j in group):
                text = _note_default_cluster(text)
            if fmt == "text" and job.explain is not None and job.explain.analyze:
                text += ("note: EXPLAIN ANALYZE runs the job: `murakkab run` shows this plan's estimate beside "
                         "what the run measured; explain shows the plan only\n")
            parts.append(text)
            formats.append(fmt)
    parts.extend(_fleet_texts(bound, cat, format, verbose, width))
    formats.extend(_fleet_format(f, format) for f in bound.fleets)
    if len(parts) > 1 and set(formats) == {"json"}:
        # Several plans as JSON: one document, a list of them (one plan: its object).
        return json.dumps([json.loads(p) for p in parts], indent=2) + "\n"
    return "\n".join(parts)


def explain_fleets(script: Script, *, format: str | None = None, verbose: bool | None = None,  # noqa: A002
                   catalog: Catalog | None = None, settings: Settings | None = None, width: int | None = None) -> str:
    """EXPLAIN of the script's PLAN FLEET statements only ('' when it has none): what
    ``murakkab run`` prints for them (a fleet is planned, not run)."""
    cat = catalog or default_catalog()
    bound = compile(script, catalog=cat, settings=settings)
    return "\n".join(_fleet_texts(bound, cat, format, verbose, width))


def fleet_dicts(script: Script, *, catalog: Catalog | None = None, settings: Settings | None = None,
                verbose: bool | None = None) -> list[dict]:
    """The script's PLAN FLEET statements as EXPLAIN's JSON objects (what ``explain --format
    json`` prints for them), one per statement."""
    cat = catalog or default_catalog()
    bound = compile(script, catalog=cat, settings=settings)
    return [fleet_plan_dict(plan_fleet(f, cat), _fleet_verbose(f, verbose)) for f in bound.fleets]


def _fleet_format(fleet: BoundFleet, fmt: str | None) -> str:
    """The format a fleet's EXPLAIN is rendered in: the caller's, else the statement's."""
    return fmt or (fleet.explain.format if fleet.explain else "text")


def _fleet_verbose(fleet: BoundFleet, verbose: bool | None) -> bool:
    """Whether a fleet's EXPLAIN is verbose: the caller's say, else the statement's."""
    return verbose if verbose is not None else bool(fleet.explain and fleet.explain.verbose)


def _fleet_texts(bound: BoundScript, cat: Catalog, fmt: str | None, verbose: bool | None,
                 width: int | None) -> list[str]:
    return [render_fleet(plan_fleet(f, cat), _fleet_format(f, fmt), verbose=_fleet_verbose(f, verbose), width=width)
            for f in bound.fleets]


def plan_fleets(script: Script | BoundScript, *, catalog: Catalog | None = None,
                settings: Settings | None = None) -> list[FleetPlan]:
    """The fleet plan of every PLAN FLEET statement of a script (with its baselines)."""
    cat = catalog or default_catalog()
    bound = script if isinstance(script, BoundScript) else compile(script, catalog=cat, settings=settings)
    return [plan_fleet(f, cat) for f in bound.fleets]


def simulate(script: Script | BoundScript, *, catalog: Catalog | None = None, settings: SimSettings | None = None,
             policies: tuple[str, ...] = FLEET_POLICIES, stretch: int = 1,
             progress: Callable[[str], None] | None = None, duration_s: float | None = None) -> list[PolicyResult]:
    """Replay the request streams of the script's PLAN FLEET (the first one) through each
    fleet policy over time (``runtime/fleet_sim.py``); one result per policy. A stream at a
    fixed rate lasts ``duration_s`` (default: the traces' span, else one hour)."""
    cat = catalog or default_catalog()
    bound = script if isinstance(script, BoundScript) else compile(script, catalog=cat)
    if not bound.fleets:
        raise MurakkabError("nothing to simulate: the script has no PLAN FLEET statement",
                            hint="simulate replays a fleet's request streams; see examples/fleet.job")
    return simulate_fleet(bound.fleets[0], cat, policies, settings or SimSettings(), stretch, progress, duration_s)


def render_fleet(plan: FleetPlan, fmt: str = "text", *, verbose: bool = False, width: int | None = None) -> str:
    """A fleet plan as EXPLAIN shows it: ``text`` or ``json``."""
    if fmt == "text":
        return render_fleet_text(plan, verbose=verbose, width=width)
    if fmt == "json":
        return render_fleet_json(plan, verbose=verbose)
    raise MurakkabError(f"a fleet plan has no '{fmt}' format", hint="one of text, json")


# Said under EXPLAIN's cluster line when the script and the command name no cluster.
DEFAULT_CLUSTER_NOTE = (f"  (the default, {DEFAULT_CLUSTER!r}: where `murakkab run` runs the plan; "
                        "--cluster NAME or ON CLUSTER 'NAME' plans for another)")
_ON_CLUSTER = re.compile(r"\bON\s+CLUSTER\b", re.IGNORECASE)


def _note_default_cluster(text: str) -> str:
    """EXPLAIN's text with the default-cluster note under its first ``cluster:`` line."""
    lines = text.split("\n")
    at = next((i for i, line in enumerate(lines) if line.startswith("cluster: ")), None)
    if at is not None:
        lines.insert(at + 1, DEFAULT_CLUSTER_NOTE)
    return "\n".join(lines)


def defaulted_cluster(job: BoundJob) -> bool:
    """Whether a job's cluster is the default: neither its RUN (ON CLUSTER) nor the
    settings (--cluster) chose one."""
    stated = job.span is not None and _ON_CLUSTER.search(_code(job.span.text)) is not None
    return not stated and job.settings.cluster == DEFAULT_CLUSTER == job.cluster


def _code(text: str) -> str:
    """A statement's text without its comments and quoted strings (which may say anything)."""
    return re.sub(r"--[^\n]*|'(?:[^']|'')*'", " ", text)


@dataclass(frozen=True)
class JobOutcome:
    job: BoundJob
    plan: PhysicalPlan
    result: RunResult | None
    notes: tuple[str, ...] = ()  # what the run did other than the script says (said on stderr)


def local_agents() -> frozenset[str]:
    """The agents this machine can run: every registered one that lacks nothing here (an
    LLM endpoint agent needs its endpoint configured)."""
    from .runtime.agents import registry

    return frozenset(spec.name for spec in registry.registered() if spec.missing() is None)


def unavailable_agents() -> tuple[tuple[str, str], ...]:
    """(agent, what it lacks) for each registered agent that cannot run here as things are."""
    from .runtime.agents import registry

    return tuple(sorted((spec.name, why) for spec in registry.registered() if (why := spec.missing())))


def run(script: Script, *, backend: str = "local", seed: int | None = None, jitter: float = 0.0,
        catalog: Catalog | None = None, settings: Settings | None = None, cache_dir: Path | None = None,
        timeout_s: float | None = None, retries: int = 2, use_cache: bool = True,
        progress: Progress | None = None, address: str | None = None) -> list[JobOutcome]:
    """Plan and run every job of a script (consecutive RUNs jointly); EXPLAIN without
    ANALYZE only plans. ``backend='local'`` (the default, as on the command line) runs real
    agents on this machine: the jobs are planned on the cluster 'local' with the agents it
    can run; ``'ray'`` plans them on the Ray cluster at ``address`` (a local Ray instance
    without one) and runs them there; ``'sim'`` simulates the plan on the job's cluster
    (without ON CLUSTER, this machine: the plan a local run would carry out)."""
    if backend not in BACKENDS:
        raise MurakkabError(f"unknown backend '{backend}'", hint=f"one of {', '.join(BACKENDS)}")
    cat = catalog or default_catalog()
    outcomes = []
    bound = compile(script, catalog=cat, settings=settings)
    # A run reads the catalog file without its write lock, so other processes (catalog
    # sql, another run) can open it meanwhile; the lock is taken only to record.
    with cat.without_write_lock():
        target = _connect_ray(cat, address) if backend == "ray" else LOCAL_CLUSTER
        for group in job_groups(bound):
            notes: tuple[str, ...] = ()
            asked = sorted({j.cluster for j in group if not defaulted_cluster(j) and j.cluster != target})
            if backend in ("local", "ray") and asked:
                where = "this machine" if backend == "local" else "the Ray cluster"
                notes = (f"{', '.join(repr(c) for c in asked)} asked for, but --backend {backend} runs real "
                         f"agents on {where} ('{target}'), so the jobs were planned and run there; "
                         f"--backend sim simulates them on {asked[0]!r}",)
            if backend in ("local", "ray"):
                available = local_agents()
                group = [replace(j, cluster=target, settings=replace(j.settings, cluster=target,
                                                                      available_agents=available,
                                                                      unavailable_agents=unavailable_agents()))
                         for j in group]
            group = [on_this_machine(j) for j in group]
            done = _run_planned(planned(group, cat), cat, backend, seed, jitter, cache_dir=cache_dir,
                                timeout_s=timeout_s, retries=retries, use_cache=use_cache, progress=progress,
                                address=address)
            outcomes.extend(replace(o, notes=o.notes + notes) for o in done)
    return outcomes


def _run_planned(jobs: list[tuple[BoundJob, PhysicalPlan]], cat: Catalog, backend: str, seed: int | None,
                 jitter: float, **real: Any) -> list[JobOutcome]:
    """Run (or, for an EXPLAIN without ANALYZE, only keep) each planned job and record
    what its run observed. ``real``: the options of a real backend (``_run_real``)."""
    outcomes = []
    for job, plan in jobs:
        result = None
        if job.explain is None or job.explain.analyze:
            if backend in ("local", "ray"):
                result = _run_real(backend, cat, job, plan, **real)
            else:
                sim = Simulator(cat, seed=job.settings.seed if seed is None else seed, jitter=jitter)
                result = sim.run(plan)
            if not cat.read_only:
                with cat.write_lock():
                    record_observations(cat, observation_rows(cat, plan, result))
                    record_cardinalities(cat, cardinality_rows(plan, result))
        outcomes.append(JobOutcome(job, plan, result))
    return outcomes


def _connect_ray(catalog: Catalog, address: str | None) -> str:
    """Connect to Ray and make its cluster known to the catalog; the cluster's name."""
    from .catalog.catalog import this_machine
    from .runtime.ray_executor import connect, ray_cluster

    machine = this_machine()
    connect(address, machine.cores, machine.gpus)
    return ray_cluster(catalog).name


def _run_real(backend: str, catalog: Catalog, job: BoundJob, plan: PhysicalPlan, *, cache_dir: Path | None,
              timeout_s: float | None, retries: int, use_cache: bool, progress: Progress | None,
              address: str | None) -> RunResult:
    """Run a plan with real agents, here or on Ray; a task whose agent keeps failing
    makes the executor re-plan the rest of the job without that agent."""
    def replan(dropped: frozenset[str]) -> Replan:
        return replan_without(job, catalog, dropped, plan.knobs)

    options = dict(cache_dir=cache_dir, retries=retries, timeout_s=timeout_s, progress=progress,
                   use_cache=use_cache, available=local_agents(), replan=replan)
    if backend == "ray":
        from .runtime.ray_executor import RayExecutor

        return RayExecutor(catalog, address=address, **options).run(plan)  # type: ignore[arg-type]
    return LocalExecutor(catalog, **options).run(plan)  # type: ignore[arg-type]


def _fps_scale(catalog: Catalog, shard: Any, fps: float) -> float:
    """fps / media_fps of the shard's agent on its hardware (1 when its time does not depend on fps)."""
    profile = next((p for p in catalog.profiles(shard.agent) if p.hardware == shard.hardware), None)
    return profile.fps_scale(fps) if profile is not None else 1.0


def observation_rows(catalog: Catalog, plan: PhysicalPlan, result: RunResult) -> list[ObservationRow]:
    """One observation per shard of a run: what was planned beside what happened."""
    run_id = uuid.uuid4().hex
    now = datetime.now(timezone.utc)
    host = platform.node() or "unknown"
    # A shard is compared with the plan that chose its agent: the first plan, or the one
    # the run switched to after dropping a failing agent.
    plans = [p for p in (plan, result.replanned) if p is not None]
    agents = [{t.id: t.candidate for t in p.tasks} for p in plans]
    shards = [{(s.task, s.index): s for s in p.shards} for p in plans]
    media = {t.id: work_of(plan.logical.node(t.id), plan.logical)[1] for t in plan.tasks}
    fps = {t.id: frame_rate(plan.logical.node(t.id), plan.logical) for t in plan.tasks}
    rows = []
    for r in result.timeline:
        key = (r.task, r.index)
        k = next((k for k in range(len(plans)) if r.task in agents[k] and agents[k][r.task].agent == r.agent
                  and key in shards[k]), 0)
        est = shards[k].get(key)
        est_s = est.duration_s if est is not None else 0.0
        power = candidate_power_w(catalog, agents[k].get(r.task, agents[0][r.task]))
        seconds = r.end_s - r.start_s
        rows.append(ObservationRow(
            run_id=run_id, recorded_at=now, host=host, backend=result.backend, job=plan.job, task=r.task,
            shard=r.index, agent=r.agent, hardware=r.hardware, units=r.units, calls=r.calls,
            # Seconds of video at the rate the agent's profile holds at (media_fps), so a
            # refit of a frame-decoding agent does not mix up frame rates.
            media_s=(r.media_s if r.media_s is not None else media[r.task]) * _fps_scale(catalog, r, fps[r.task]),
            est_seconds=est_s, seconds=seconds, est_energy_wh=est_s * r.units * power / 3600.0,
            energy_wh=seconds * r.units * power / 3600.0))
    return rows


def cardinality_rows(plan: PhysicalPlan, result: RunResult) -> list[CardinalityRow]:
    """One row per task with a list output: the items it produced beside the estimate,
    with the item attributes and knobs its cardinality expression read (as the binder
    evaluated it: the attributes of the items it maps over, or of its first input)."""
    found = dict(result.items)
    if not found:
        return []
    run_id, now, host = uuid.uuid4().hex, datetime.now(timezone.utc), platform.node() or "unknown"
    calls: dict[str, float] = {}
    for r in result.timeline:
        calls[r.task] = calls.get(r.task, 0.0) + r.calls
    rows = []
    for node in plan.logical.tasks:
        if node.id not in found or node.interface is None:
            continue
        source_id = node.over if node.over is not None else (node.inputs[0] if node.inputs else None)
        attrs = dict(plan.logical.node(source_id).stats.attrs) if source_id is not None else {}
        env = json.dumps({**attrs, **dict(node.knobs)}, sort_keys=True)
        rows.append(CardinalityRow(run_id, now, host, result.backend, plan.job, node.id, node.interface,
                                   calls.get(node.id, 0.0), env, node.stats.items, float(found[node.id])))
    return rows


def computed_targets(catalog: Catalog, cluster: str = DEFAULT_CLUSTER) -> dict[str, Callable[[], ShowResult]]:
    """SHOW targets whose rows are computed: SLO tiers of the workflows (by the planner),
    and the agents with whether each runs on this machine."""
    return {"workflows": lambda: ShowResult(list(WORKFLOW_COLUMNS), workflow_tier_rows(catalog, cluster)),
            "agents": lambda: agents_here(catalog)}


def agents_here(catalog: Catalog) -> ShowResult:
    """The catalog's agents, each with ``runs_here`` (whether ``murakkab run`` can run it
    on this machine) and ``why_not`` (what it lacks: no implementation registered here, or
    what its implementation needs, such as an endpoint)."""
    columns, rows = catalog.query("SELECT * FROM agents ORDER BY ALL")
    here, lacking = local_agents(), dict(unavailable_agents())
    name = columns.index("name")
    out = []
    for row in rows:
        agent = row[name]
        why = None if agent in here else (f"needs {lacking[agent]}" if agent in lacking
                                          else "no implementation registered on this machine")
        out.append((*row, agent in here, why))
    return ShowResult([*columns, "runs_here", "why_not"], out)


def show_all(script: Script, *, catalog: Catalog | None = None) -> list[ShowResult]:
    """Answer the SHOW statements of a script."""
    cat = catalog or default_catalog()
    out = []
    bound = compile(script, catalog=cat)
    for action in bound.actions:
        if isinstance(action, ast.Show):
            out.append(show(cat, action.what, action.subject, action.where, action.span, action.where_span,
                            computed_targets(cat)))
    return out


def debug_enabled() -> bool:
    return os.environ.get("MURAKKAB_DEBUG", "") not in ("", "0")


__all__ = ["compile", "optimize", "explain", "run", "render", "show_all", "JobOutcome", "Settings"]
