"""The binder: resolve a parsed script against the catalog into bound jobs.

Binding may fail (unknown names, type errors, missing inputs) and every failure is a
:class:`MurakkabError` pointing at the source. Rewriting is separate (``rules/``) and
must preserve meaning; the binder is where meaning is decided:

- a task written as a name is an interface; a task written as a string is matched to
  one by the description matcher, with a confidence;
- arguments are type-checked; passing ``LIST<T>`` where ``T`` is expected makes the
  task a per-item map (the source of fan-out);
- each node gets a cardinality estimate from input statistics: probed from the real
  file (a media file's duration and frame rate, a text document's tokens), else stated
  with ``ASSUMING``, else a catalog default (marked as such).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Sequence

from ..catalog.catalog import Catalog, Interface
from ..catalog.show import TARGETS as SHOW_TARGETS
from ..catalog.types import BASE_TYPES, Type, is_subtype, list_of
from ..grammar import ast
from ..grammar.diagnostics import MurakkabError, Span, suggestion
from ..grammar.parser import parse
from .job import (METRIC_DIMENSION, METRICS, TIERS, BoundJob, ExplainOptions, Goal, Settings,
                  Slo)
from .logical import (INPUT, INVOKE, JOIN_INTERFACE, MAP, OUTPUT, SPLIT_INTERFACE, VOTE_INTERFACE, LogicalPlan, Node,
                      Preference, Stats)
from .cardinality import output_stats
from .fleet.bind import BoundFleet, bind_fleet
from .llm_planner import Chat
from .matcher import Choice, Entry, Match, Matcher, StepMatch
from .physical.candidates import satisfies
from .probe import GLOB_CHARS, expand_input, probe_document, probe_media, resolve_path, unreadable_input
from .units import BASE_UNIT, to_base

MEDIA_TYPES = {"VIDEO", "AUDIO", "SCENE", "MEDIA"}
FILE_TYPES = MEDIA_TYPES | {"IMAGE", "DOCUMENT"}
PREFERENCE_KEYS = ("agent", "model", "device", "hardware")
SETTINGS = ("solver", "parallelism", "seed", "cluster", "solver_time_limit", "disabled_rules", "quality_floor",
            "planner")
# Who writes the workflow of a description-only RUN: the matcher picks a catalog template;
# 'llm' asks an OpenAI-compatible endpoint to propose one (compiler/llm_planner.py).
PLANNERS = ("matcher", "llm")
SOLVERS = ("greedy", "cpsat", "ilp", "exhaustive", "auto")
EXPLAIN_FORMATS = ("text", "json", "dot", "mermaid")
# The range of each ASSUMING statistic (base units), so that a slip such as
# `count = 1e30` is refused where it is written instead of failing inside the planner.
# The planner times plans in float seconds down to millisecond shards: one input of 1e9 s
# of media (count x duration) broke its validator's tolerance, 6e8 s planned fine; the
# caps keep every input well below (see MAX_MEDIA_S). fps: high-speed cameras record up to
# ~1,000 frames a second; 0 frames a second is no video.
# statistic -> (least, most, whether the least itself is allowed)
STAT_RANGES: dict[str, tuple[float, float, bool]] = {
    "count": (1.0, 1e6, True),          # items in one input
    "duration_s": (0.0, 1e6, False),    # seconds per item (11.6 days)
    "fps": (0.0, 1_000.0, False),       # frames per second
    "tokens": (0.0, 1e9, True),         # tokens per item (~4 GB of text)
}
# The most seconds of media one input may hold in all (count x duration): an order of
# magnitude below the 1e9 s at which planning failed.
MAX_MEDIA_S = 1e8


@dataclass(frozen=True)
class BoundScript:
    """Everything a script asks for, in order: jobs to plan/run and SHOW statements
    (answered by the catalog, ``murakkab.catalog.show``)."""

    actions: tuple[BoundJob | ast.Show | BoundFleet, ...]
    workflows: tuple[str, ...]
    # Each plain-words step (and description-only RUN) with the interface or template
    # chosen for it, in script order (``murakkab check`` lists them).
    steps: tuple[StepMatch, ...] = ()

    @property
    def jobs(self) -> tuple[BoundJob, ...]:
        return tuple(a for a in self.actions if isinstance(a, BoundJob))

    @property
    def fleets(self) -> tuple[BoundFleet, ...]:
        return tuple(a for a in self.actions if isinstance(a, BoundFleet))


@dataclass
class _Env:
    """Names visible while binding one workflow body: id -> node."""

    nodes: dict[str, Node] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def add(self, node: Node) -> None:
        self.nodes[node.id] = node
        self.order.append(node.id)


def compile_script(text: str, name: str = "<string>", catalog: Catalog | None = None,
                   settings: Settings | None = None) -> BoundScript:
    """Parse and bind a whole script."""
    script = parse(text, name)
    return Binder(catalog or _default()).bind_script(script, settings or Settings())


def _default() -> Catalog:
    from ..catalog.catalog import default_catalog

    return default_catalog()


@functools.lru_cache(maxsize=8)
def _interface_matcher(catalog: Catalog) -> Matcher:
    return Matcher.build([Entry(i.name, f"{i.name} {i.description} {i.examples}",
                                (i.description, *i.examples.split("|"))) for i in catalog.interfaces()])


@functools.lru_cache(maxsize=8)
def _template_matcher(catalog: Catalog) -> Matcher:
    return Matcher.build([Entry(t.name, f"{t.name} {t.description}", (t.description,))
                          for t in catalog.templates()])


def interface_choice(catalog: Catalog, phrase: str) -> Choice:
    """What the matcher makes of a plain-words task (``compiler/matcher.py``)."""
    return _interface_matcher(catalog).choose(phrase)


def template_choice(catalog: Catalog, phrase: str) -> Choice:
    """What the matcher makes of a description-only RUN."""
    return _template_matcher(catalog).choose(phrase)


def step_matches(catalog: Catalog, plan: LogicalPlan, workflow: str) -> tuple[StepMatch, ...]:
    """The plain-words steps of a bound plan and what the matcher chose for each, in plan
    order: the template of a description-only RUN (its phrase is on the Output node),
    then each task written in plain words. Deterministic, so EXPLAIN shows what the
    binder chose."""
    steps = []
    for node in plan.nodes:
        if node.description is None:
            continue
        if node.op == OUTPUT:
            choice, kind, task = template_choice(catalog, node.description), "template", "<run>"
        else:
            choice, kind, task = interface_choice(catalog, node.description), "interface", node.id
        if choice.chosen is not None:
            steps.append(StepMatch.of(workflow, task, kind, choice))
    return tuple(sorted(steps, key=lambda s: s.task != "<run>"))


# ASSUMING's statistics: name -> (attribute, dimension).
_STATED_DIMS: dict[str, tuple[str, str]] = {"duration": ("duration_s", "time"), "fps": ("fps", "rate"),
                                            "tokens": ("tokens", "tokens"), "count": ("count", "count")}
# A stated statistic within this fraction of what the file says agrees with it.
STATED_TOLERANCE = 0.05

class Binder:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.workflows: dict[str, ast.CreateWorkflow] = {}
        self.steps: list[StepMatch] = []
        self._workflow = ""  # the workflow whose body is being bound, for StepMatch
        self.planner = "matcher"
        self._floor_said = False  # whether the script SET quality_floor (for bind_run's note)
        self.chat: Chat | None = None  # the LLM planner's endpoint; None: the configured one

    # -- statements --------------------------------------------------------------
    def bind_script(self, script: ast.Script, settings: Settings) -> BoundScript:
        actions: list[BoundJob | ast.Show | BoundFleet] = []
        # The first SET since the last statement a setting applies to; one left at the
        # end after such a statement applies to nothing, and the user meant otherwise.
        unused: ast.SetStmt | None = None
        for stmt in script.statements:
            if isinstance(stmt, ast.SetStmt):
                unused = unused or stmt
            elif isinstance(stmt, (ast.Run, ast.Explain, ast.PlanFleet)):
                unused = None
            if isinstance(stmt, ast.CreateWorkflow):
                self._define(stmt)
            elif isinstance(stmt, ast.Run):
                actions.append(self.bind_run(stmt, settings, None))
            elif isinstance(stmt, ast.Explain):
                options = self._explain_options(stmt)
                if isinstance(stmt.statement, ast.PlanFleet):
                    actions.append(bind_fleet(stmt.statement, self.catalog, settings, options))
                else:
                    actions.append(self.bind_run(stmt.statement, settings, options))
            elif isinstance(stmt, ast.SetStmt) and stmt.name == "planner":
                planner = _word_or_string(stmt.value)
                if planner not in PLANNERS:
                    raise MurakkabError(f"unknown planner '{planner}'", stmt.value.span,
                                        suggestion(planner or "", PLANNERS, "planners"))
                self.planner = str(planner)
            elif isinstance(stmt, ast.SetStmt):
                settings = self._set(stmt, settings)
                self._floor_said = self._floor_said or stmt.name == "quality_floor"
            elif isinstance(stmt, ast.Show):
                _check_show(stmt)
                actions.append(stmt)
            elif isinstance(stmt, ast.PlanFleet):
                actions.append(bind_fleet(stmt, self.catalog, settings, None))
        if unused is not None and any(isinstance(a, (BoundJob, BoundFleet)) for a in actions):
            raise MurakkabError(f"SET {unused.name} comes after the last RUN: it applies to nothing", unused.span,
                                "a SET applies to the statements after it: move it above the RUN it is for")
        return BoundScript(tuple(actions), tuple(self.workflows), tuple(dict.fromkeys(self.steps)))

    def _explain_options(self, stmt: ast.Explain) -> ExplainOptions:
        fmt = stmt.format or "text"
        if fmt not in EXPLAIN_FORMATS:
            raise MurakkabError(f"unknown EXPLAIN format '{fmt}'", stmt.format_span,
                                suggestion(fmt, EXPLAIN_FORMATS, "formats"))
        return ExplainOptions(stmt.analyze, stmt.verbose, fmt)

    def _set(self, stmt: ast.SetStmt, settings: Settings) -> Settings:
        name, value = stmt.name, stmt.value
        if name not in SETTINGS:
            raise MurakkabError(f"unknown setting '{name}'", stmt.name_span, suggestion(name, SETTINGS, "settings"))
        if name == "solver":
            solver = _word_or_string(value)
            if solver not in SOLVERS:
                said = solver if solver is not None else value.span.text
                raise MurakkabError(f"unknown solver '{said}'", value.span, suggestion(said, SOLVERS, "solvers"))
            return replace(settings, solver=solver, solver_span=stmt.span)
        if name == "parallelism":
            flag = _word_or_string(value)
            if flag not in ("on", "off", "true", "false"):
                raise MurakkabError("parallelism is on or off", value.span, "write SET parallelism = off")
            return replace(settings, parallelism=flag in ("on", "true"))
        if name == "seed":
            if not isinstance(value, ast.Quantity) or value.unit or not math.isfinite(value.value) \
                    or value.value != int(value.value):
                raise MurakkabError("seed is a whole number", value.span, "write SET seed = 42")
            return replace(settings, seed=int(value.value))
        if name == "cluster":
            cluster = _word_or_string(value) or ""
            self._check_cluster(cluster, value.span)
            return replace(settings, cluster=cluster)
        if name == "disabled_rules":
            from .rules import RULE_NAMES

            text = _word_or_string(value)
            if text is None:
                raise MurakkabError("disabled_rules is a quoted list of rule names", value.span,
                                    f"e.g. SET disabled_rules = 'fuse_maps'; rules: {', '.join(RULE_NAMES)}")
            names = tuple(n.strip() for n in text.split(",") if n.strip())
            for n in names:
                if n not in RULE_NAMES:
                    raise MurakkabError(f"unknown rule '{n}'", value.span, suggestion(n, RULE_NAMES, "rules"))
            return replace(settings, disabled_rules=names)
        if name == "quality_floor":
            return replace(settings, quality_floor=_quality_floor(value))
        if not isinstance(value, ast.Quantity) or not math.isfinite(value.value) or value.value <= 0:
            raise MurakkabError("solver_time_limit is a positive duration", value.span,
                                "write SET solver_time_limit = 10 s")
        return replace(settings, solver_time_limit_s=to_base(value, "time", "solver_time_limit"))

    def _check_cluster(self, name: str, span: Span | None) -> None:
        if self.catalog.cluster(name) is None:
            raise MurakkabError(f"unknown cluster '{name}'", span,
                                suggestion(name, [c.name for c in self.catalog.clusters()], "clusters"))

    # -- CREATE WORKFLOW -------------------------------------------------------------
    def _define(self, wf: ast.CreateWorkflow) -> None:
        if wf.name in self.workflows and not wf.replace:
            raise MurakkabError(f"workflow '{wf.name}' is already defined", wf.name_span,
                                "use CREATE OR REPLACE WORKFLOW to redefine it")
        if self.catalog.interface(wf.name) is not None:
            raise MurakkabError(f"'{wf.name}' is the name of an interface", wf.name_span,
                                "choose another name for the workflow")
        # Bind the body once with default statistics so mistakes surface at the
        # definition, even if no RUN uses the workflow.
        inputs = {}
        for p in wf.params:
            typ = self._type(p.type)
            inputs[p.name] = Node(p.name, INPUT, typ, self._default_stats(typ), span=p.span)
        seen: dict[str, ast.Param] = {}
        for p in wf.params:
            if p.name in seen:
                raise MurakkabError(f"parameter '{p.name}' is declared twice", p.span)
            seen[p.name] = p
        self._bind_body(wf, inputs)
        self.workflows[wf.name] = wf

    def _type(self, ref: ast.TypeRef) -> Type:
        if ref.name == "LIST":
            if ref.arg is None:
                raise MurakkabError("LIST needs an element type", ref.span, "write LIST<VIDEO>")
            return list_of(self._type(ref.arg))
        if ref.arg is not None:
            raise MurakkabError(f"{ref.name} takes no type argument", ref.span, "only LIST<T> is generic")
        if ref.name not in BASE_TYPES:
            raise MurakkabError(f"unknown type '{ref.name}'", ref.span,
                                suggestion(ref.name, BASE_TYPES + ("LIST",), "types"))
        return Type(ref.name)

    # -- the body of a workflow --------------------------------------------------------
    def _bind_body(self, wf: ast.CreateWorkflow, inputs: dict[str, Node],
                   matched: list[tuple[str, str, float]] | None = None) -> LogicalPlan:
        env = _Env()
        self._workflow = wf.name
        for node in inputs.values():
            env.add(node)
        task_names = {t.name for t in wf.tasks}
        for task in wf.tasks:
            if task.name in env.nodes:
                what = "parameter" if env.nodes[task.name].op == INPUT else "task"
                raise MurakkabError(f"'{task.name}' is already a {what} of this workflow", task.span,
                                    "give each task a new name")
            env.add(self._bind_task(task, env, task_names, matched))
        returns = []
        for ref in wf.returns:
            if ref.name not in env.nodes:
                raise MurakkabError(f"RETURNS names '{ref.name}', which is not a task or parameter", ref.span,
                                    suggestion(ref.name, env.order, "names"))
            returns.append(ref.name)
        if wf.tasks and all(env.nodes[r].op == INPUT for r in returns):
            # The result would be the inputs as given: no task would run, surely not meant.
            ref = wf.returns[0]
            raise MurakkabError(f"RETURNS names only parameters ({', '.join(returns)}): no task of "
                                f"'{wf.name}' would run", ref.span,
                                f"return a task's result, e.g. RETURNS {wf.tasks[-1].name}")
        out = env.nodes[returns[0]]
        env.add(Node("<output>", OUTPUT, out.type, out.stats, tuple(returns), span=wf.span))
        return LogicalPlan(tuple(env.nodes[i] for i in env.order))

    def _resolve_interface(self, task: ast.Task, matched: list[tuple[str, str, float]] | None) -> Interface:
        if not task.by_description:
            iface = self.catalog.interface(task.target)
            if iface is None:
                names = [i.name for i in self.catalog.interfaces()]
                raise MurakkabError(f"unknown interface '{task.target}'", task.target_span,
                                    suggestion(task.target, names, "interfaces")
                                    + " (or describe the task in plain words: 'Transcribe the speech')")
            return iface
        choice = interface_choice(self.catalog, task.target)
        best = choice.chosen
        if best is None:
            message, closest = choice.refusal()
            raise MurakkabError(message, task.target_span, _name_one(task, choice.ranked[:3]))
        runner = choice.runner_up
        if runner is not None and runner.score == best.score:
            raise MurakkabError(f"'{task.target}' matches {best.name} and {runner.name} equally "
                                f"(score {best.score:.2f})", task.target_span,
                                _name_one(task, (best, runner)))
        self.steps.append(StepMatch.of(self._workflow, task.name, "interface", choice))
        if matched is not None:
            matched.append((task.name, best.name, best.score))
        iface = self.catalog.interface(best.name)
        assert iface is not None
        return iface

    def _bind_task(self, task: ast.Task, env: _Env, task_names: set[str],
                   matched: list[tuple[str, str, float]] | None) -> Node:
        iface = self._resolve_interface(task, matched)
        args: list[Node] = []
        for ref in task.args:
            if ref.name not in env.nodes:
                if ref.name in task_names:
                    raise MurakkabError(f"'{ref.name}' is used before it is defined", ref.span,
                                        "tasks may only read parameters and tasks above them")
                raise MurakkabError(f"unknown name '{ref.name}'", ref.span,
                                    suggestion(ref.name, env.order, "parameters and tasks"))
            args.append(env.nodes[ref.name])
        over = self._check_args(task, iface, args)
        knobs = self._knobs(task, iface)
        prefs = self._preferences(task, iface)
        stats, out_type = self._estimate(iface, args, over, knobs)
        return Node(
            id=task.name, op=MAP if over is not None else INVOKE, type=out_type, stats=stats,
            inputs=tuple(a.id for a in args), interface=iface.name, over=over.id if over else None,
            knobs=knobs, fixed_knobs=tuple(sorted({k.name for k in task.knobs})), prefs=prefs,
            partitionable=iface.partitionable, chunk_s=self._chunk_s(iface),
            vote_k=self._vote_k(iface) if over is None else None,
            description=task.target if task.by_description else None, span=task.span,
        )

    def _chunk_s(self, iface: Interface) -> float | None:
        """Chunk length for split_long_inputs, when the catalog can split and join."""
        chunk = self.catalog.statistic("split_chunk_s")
        if not iface.splittable or chunk is None or chunk.value <= 0 or iface.output != Type("TEXT"):
            return None
        if self.catalog.interface(SPLIT_INTERFACE) is None or self.catalog.interface(JOIN_INTERFACE) is None:
            return None
        return chunk.value

    def _vote_k(self, iface: Interface) -> int | None:
        """Samples for expand_paths, when the catalog can vote on this interface's answers."""
        k = self.catalog.statistic("vote_samples")
        if not iface.samplable or k is None or k.value < 3 or iface.output != Type("TEXT"):
            return None
        return int(k.value) if self.catalog.interface(VOTE_INTERFACE) is not None else None

    def _check_args(self, task: ast.Task, iface: Interface, args: list[Node]) -> Node | None:
        """Match arguments to the signature; return the node a per-item map runs over."""
        params = iface.params
        variadic = bool(params) and params[-1].variadic
        fixed = len(params) - (1 if variadic else 0)
        if len(args) < fixed or (len(args) > len(params) and not variadic):
            want = f"at least {fixed}" if variadic else str(len(params))
            raise MurakkabError(
                f"{_called(task, iface)} takes {want} argument{'s' if want != '1' else ''}, got {len(args)}",
                task.span, f"signature: {iface.signature()}")
        over: Node | None = None
        for i, (ref, arg) in enumerate(zip(task.args, args)):
            param = params[min(i, len(params) - 1)]
            if is_subtype(arg.type, param.type):
                continue
            if arg.type.is_list and arg.type.elem is not None and is_subtype(arg.type.elem, param.type):
                if param.variadic:
                    continue
                if over is not None:
                    raise MurakkabError(
                        f"cannot map {_called(task, iface)} over both '{over.id}' and '{arg.id}'", ref.span,
                        "a task maps over one list; pass the other one whole or split the task")
                over = arg
                continue
            raise MurakkabError(
                f"'{arg.id}' is {arg.type}, but {_called(task, iface)} expects {param.name} {param.type}",
                ref.span, f"signature: {iface.signature()}" + (
                    f"; if the step means something else, name its interface: {task.name} := interface_name (...)"
                    " (SHOW INTERFACES)" if task.by_description else ""))
        return over

    def _knobs(self, task: ast.Task, iface: Interface) -> tuple[tuple[str, float], ...]:
        # A knob that shapes the plan (it leaves a step out, repeats it) is on the node only
        # when the script set it; the planner applies it (compiler/physical/knobs.py).
        values = {k.name: k.default for k in iface.knobs if not k.structural}
        for s in task.knobs:
            knob = iface.knob(s.name)
            if knob is None:
                raise MurakkabError(f"{_called(task, iface)} has no knob '{s.name}'", s.span,
                                    suggestion(s.name, [k.name for k in iface.knobs], f"knobs of {iface.name}"))
            if not isinstance(s.value, ast.Quantity) or s.value.unit is not None:
                raise MurakkabError(f"knob '{s.name}' takes a plain number", s.value.span,
                                    f"one of {', '.join(f'{v:g}' for v in knob.domain)}")
            if knob.domain and s.value.value not in knob.domain:
                raise MurakkabError(f"{s.value.value:g} is outside the domain of '{s.name}'", s.value.span,
                                    f"one of {', '.join(f'{v:g}' for v in knob.domain)}")
            values[s.name] = s.value.value
        return tuple(sorted(values.items()))

    def _preferences(self, task: ast.Task, iface: Interface) -> tuple[Preference, ...]:
        prefs = []
        agents = self.catalog.agents(iface.name)
        for s in task.prefs:
            if s.name not in PREFERENCE_KEYS:
                raise MurakkabError(f"unknown preference '{s.name}'", s.span,
                                    suggestion(s.name, PREFERENCE_KEYS, "preferences"))
            pattern = _word_or_string(s.value)
            if pattern is None:
                raise MurakkabError(f"preference '{s.name}' takes a name or a quoted pattern", s.value.span)
            pref = Preference(s.name, pattern if s.name != "device" else pattern.upper())
            if s.name == "device" and pref.pattern not in ("CPU", "GPU"):
                raise MurakkabError("device is CPU or GPU", s.value.span, suggestion(pattern, ["CPU", "GPU"], "devices"))
            if not any(satisfies(self.catalog, a.name, None, pref) for a in agents):
                raise MurakkabError(
                    f"no implementation of {iface.name} matches {s.name} = '{pattern}'", s.value.span,
                    f"implementations: {', '.join(sorted(a.name for a in agents))}"
                    + ("; an agent you wrote in Python joins them with murakkab run --agents my_agents.py"
                       if s.name == "agent" else ""))
            prefs.append(pref)
        return tuple(prefs)

    # -- cardinality -------------------------------------------------------------------
    def _stat_env(self) -> dict[str, float]:
        return {s.key: s.value for s in self.catalog.statistics()}

    def _estimate(self, iface: Interface, args: list[Node], over: Node | None,
                  knobs: tuple[tuple[str, float], ...]) -> tuple[Stats, Type]:
        """Output type and cardinality of a task from its inputs' statistics."""
        return output_stats(iface, args, over, knobs, self._stat_env())

    def _default_stats(self, typ: Type) -> Stats:
        stats = self._stat_env()
        elem = typ.elem if typ.is_list and typ.elem is not None else typ
        items = stats.get("list_length", 1.0) if typ.is_list else 1.0
        return Stats(items, _default_attrs(elem.name, stats), "default")

    # -- RUN ----------------------------------------------------------------------------
    def bind_run(self, run: ast.Run, settings: Settings, explain: ExplainOptions | None) -> BoundJob:
        matched: list[tuple[str, str, float]] = []
        if run.by_description and self.planner == "llm":
            wf = self._proposed(run)
        elif run.by_description:
            wf = self._template_for(run, matched)
        else:
            wf = self.workflows.get(run.target)
            if wf is None:
                if self.catalog.interface(run.target) is not None:
                    raise MurakkabError(f"'{run.target}' is an interface, not a workflow", run.target_span,
                                        "RUN a workflow created with CREATE WORKFLOW, or a description in quotes")
                raise MurakkabError(f"unknown workflow '{run.target}'", run.target_span,
                                    suggestion(run.target, self.workflows, "workflows"))
        inputs = self._bind_inputs(wf, run)
        plan = self._bind_body(wf, inputs, matched)
        if run.by_description and self.planner == "matcher":
            # The phrase a template was matched from, for EXPLAIN (``step_matches``).
            plan = LogicalPlan(tuple(n.with_(description=run.target) if n.op == OUTPUT else n for n in plan.nodes))
        slos = tuple(self._slo(s) for s in run.slos)
        _once([(s.metric, s.span) for s in run.slos], "a second SLO on {}", "one bound per metric: keep the one you mean")
        goals = tuple(self._goal(o) for o in run.objectives) or (Goal("latency", True), Goal("energy", True))
        _once([(o.metric, o.span) for o in run.objectives], "{} is already a goal",
              "each metric once: MINIMIZE latency THEN cost")
        cluster = run.cluster if run.cluster is not None else settings.cluster
        self._check_cluster(cluster, run.cluster_span or run.span)
        floor = settings.quality_floor
        if self._floor_said and floor is not None and any(s.metric == "quality" for s in slos):
            said = floor if isinstance(floor, str) else f"{floor:g}"
            bar = next(s for s in slos if s.metric == "quality")
            plan = LogicalPlan(tuple(n.with_(notes=n.notes + (
                f"SET quality_floor = {said} is not applied: the SLO {bar.text()} sets this job's quality",))
                if n.op == OUTPUT else n for n in plan.nodes))
        return BoundJob(run.target if not run.by_description else wf.name, wf.name, plan, slos, goals, cluster,
                        settings, explain, run.span, tuple(matched))

    def _proposed(self, run: ast.Run) -> ast.CreateWorkflow:
        """The workflow an LLM proposes for a description-only RUN, bound before it is taken."""
        from .llm_planner import endpoint_chat, propose

        def check(wf: ast.CreateWorkflow) -> None:
            if self.catalog.interface(wf.name) is not None:
                raise MurakkabError(f"'{wf.name}' is the name of an interface", wf.name_span,
                                    "choose another name for the workflow")
            recorded = len(self.steps)
            try:
                self._bind_body(wf, self._bind_inputs(wf, run))
            except MurakkabError:
                del self.steps[recorded:]  # a refused proposal's plain-words steps are not the script's
                raise

        wf, _ = propose(self.catalog, run, check, self.chat or endpoint_chat())
        return wf

    def _template_for(self, run: ast.Run, matched: list[tuple[str, str, float]]) -> ast.CreateWorkflow:
        choice = template_choice(self.catalog, run.target)
        best = choice.chosen
        if best is None:
            message, closest = choice.refusal()
            raise MurakkabError(message.replace("no interface", "no workflow template"), run.target_span,
                                f"closest: {closest}; SHOW TEMPLATES lists them; "
                                "or write the workflow with CREATE WORKFLOW")
        self.steps.append(StepMatch.of(best.name, "<run>", "template", choice))
        template = next(t for t in self.catalog.templates() if t.name == best.name)
        stmt = parse(template.body, f"<template {template.name}>").statements[0]
        assert isinstance(stmt, ast.CreateWorkflow)
        matched.append(("<run>", f"template {template.name}", best.score))
        return stmt

    def _bind_inputs(self, wf: ast.CreateWorkflow, run: ast.Run) -> dict[str, Node]:
        given = {}
        for arg in run.args:
            if arg.name in given:
                raise MurakkabError(f"input '{arg.name}' is given twice", arg.span)
            given[arg.name] = arg
        params = {p.name: p for p in wf.params}
        for name, arg in given.items():
            if name not in params:
                raise MurakkabError(f"{wf.name} has no parameter '{name}'", arg.span,
                                    suggestion(name, list(params), f"parameters of {wf.name}"))
        missing = [p.name for p in wf.params if p.name not in given]
        if missing:
            which = f"template {wf.name} (matched from '{run.target}')" if run.by_description else wf.name
            raise MurakkabError(f"missing input{'s' if len(missing) > 1 else ''} for {which}: {', '.join(missing)}",
                                run.target_span, "give every parameter with name => value" + (
                                    f": {wf.name} takes ({', '.join(f'{p.name} {p.type.span.text}' for p in wf.params)})"
                                    if run.by_description else ""))
        nodes = {}
        for p in wf.params:
            typ = self._type(p.type)
            arg = given[p.name]
            elem = typ.elem if typ.is_list and typ.elem is not None else typ
            # A file is read where it is: probed and run from its resolved path; EXPLAIN
            # shows the path as written.
            found = replace(arg, value=_with_paths(arg.value)) if elem.name in FILE_TYPES else arg
            notes: list[str] = []
            nodes[p.name] = Node(p.name, INPUT, typ, self._input_stats(typ, found, notes),
                                 value=_literal_text(arg.value), literal=_literal_data(found.value), span=arg.span,
                                 notes=tuple(notes))
        return nodes

    def _input_stats(self, typ: Type, arg: ast.NamedArg, notes: list[str] | None = None) -> Stats:
        """Statistics of one RUN input: probed, else stated, else default. A stated value
        the probed files contradict (by more than STATED_TOLERANCE) is noted in ``notes``."""
        value = arg.value
        elem = typ.elem if typ.is_list and typ.elem is not None else typ
        if typ.is_list:
            if not isinstance(value, ast.ListLit):
                raise MurakkabError(f"'{arg.name}' is {typ}: pass a list", value.span,
                                    "write [ ... ], e.g. ['a.mp4', 'b.mp4']")
            items: tuple[ast.Value, ...] = value.items
            if not items:
                raise MurakkabError(f"'{arg.name}' is an empty list: the job would have nothing to work on",
                                    value.span, "give at least one item, e.g. ['a.mp4']")
        else:
            items = (value,)
        for item in items:
            _check_literal(item, elem, arg.name)
        stated = self._stated(arg, elem)
        defaults = _default_attrs(elem.name, self._stat_env())
        probe = probe_media if elem.name in MEDIA_TYPES else probe_document if elem.name == "DOCUMENT" else None
        probed = [probe(i.value) for i in items if isinstance(i, ast.StringLit)] if probe else []
        for item, found in zip((i for i in items if isinstance(i, ast.StringLit)), probed):
            # A file that is there but cannot be this input (a pipe, a text file as a video)
            # is refused where it is named, as a run would refuse it: EXPLAIN must not plan
            # what cannot run. A path not there yet is planned from ASSUMING or the defaults.
            problem = unreadable_input(item.value, elem.name) if found is None else None
            if problem is not None:
                raise MurakkabError(problem[0], item.span, problem[1])
        count = float(len(items))
        origins: set[str] = set()
        if "count" in stated:
            files = len(items) if probed and all(probed) else None  # every item a file that was read
            if files is not None and stated["count"] != files and notes is not None:
                notes.append(f"input '{arg.name}': ASSUMING (count = {stated['count']:g}) is ignored: the list "
                             f"names {files} file{'' if files == 1 else 's'}")
                stated.pop("count")
            else:
                count = stated.pop("count")
                origins.add("stated")
        attrs: dict[str, float] = {}
        defaulted: list[str] = []
        for key, default in defaults.items():
            values = [p[key] for p in probed if p and key in p]
            if values and len(values) == len(items):
                attrs[key], kind = sum(values) / len(values), "probed"
                if key in stated and notes is not None and not math.isclose(
                        stated[key], attrs[key], rel_tol=STATED_TOLERANCE):
                    name = next((n for n, (k, _) in _STATED_DIMS.items() if k == key), key)
                    unit = {"duration_s": " s", "fps": " fps", "tokens": " tokens"}.get(key, "")
                    notes.append(f"input '{arg.name}': ASSUMING ({name} = {stated[key]:.4g}{unit}) is ignored: "
                                 f"{'the files say' if len(values) > 1 else 'the file says'} {attrs[key]:.4g}{unit}"
                                 f"{' on average' if len(values) > 1 else ''}")
            elif key in stated:
                attrs[key], kind = stated[key], "stated"
            else:
                attrs[key], kind = default, "default"
                defaulted.append(key)
            origins.add(kind)
        for key, v in stated.items():
            if key not in attrs:
                attrs[key] = v
                origins.add("stated")
        media_s = count * attrs.get("duration_s", 0.0)  # stated, probed or the default duration
        if media_s > MAX_MEDIA_S:
            at = next((s.value.span for s in arg.assuming if s.name in ("count", "duration")), arg.span)
            raise MurakkabError(f"'{arg.name}' would hold {media_s:,.0f} s of media in all (count x duration), "
                                f"more than the {MAX_MEDIA_S:,.0f} s the planner handles", at,
                                "state the count and duration of the items you will run")
        # The estimate is only as good as its weakest attribute.
        origin = next((o for o in ("default", "stated", "probed") if o in origins), "derived")
        return Stats(count, tuple(sorted(attrs.items())), origin, tuple(defaulted))

    def _stated(self, arg: ast.NamedArg, elem: Type) -> dict[str, float]:
        """ASSUMING (duration = 10 min, fps = 30, tokens = 4000, count = 12)."""
        dims = _STATED_DIMS
        out: dict[str, float] = {}
        for s in arg.assuming:
            if s.name not in dims:
                raise MurakkabError(f"unknown statistic '{s.name}'", s.span, suggestion(s.name, dims, "statistics"))
            if not isinstance(s.value, ast.Quantity):
                raise MurakkabError(f"statistic '{s.name}' takes a number", s.value.span)
            key, dim = dims[s.name]
            applies = _APPLIES.get(elem.name)
            if applies is not None and key != "count" and key not in applies:
                takes = [n for n, (k, _) in dims.items() if k in applies or k == "count"]
                raise MurakkabError(f"statistic '{s.name}' does not apply to {elem.name} items", s.span,
                                    f"a {elem.name} takes {', '.join(takes)}")
            value = to_base(s.value, dim, s.name)
            if value < 0:
                raise MurakkabError(f"statistic '{s.name}' cannot be negative", s.value.span)
            least, most, closed = STAT_RANGES[key]
            if value > most or value < least or (value == least and not closed):
                unit = BASE_UNIT[dim]
                low = f">= {least:g}" if closed else f"> {least:g}"
                raise MurakkabError(f"statistic '{s.name}' = {s.value.span.text} is out of range", s.value.span,
                                    f"{s.name} must be {low} and <= {most:,.0f}{' ' + unit if unit else ''}")
            if key == "count" and value != int(value):
                raise MurakkabError(f"statistic 'count' is a whole number of items, got {s.value.value:g}",
                                    s.value.span)
            out[key] = value
        return out

    # -- SLOs and objectives ----------------------------------------------------------
    def _slo(self, s: ast.SloConstraint) -> Slo:
        if s.metric not in METRICS:
            raise MurakkabError(f"unknown SLO metric '{s.metric}'", s.span, suggestion(s.metric, METRICS, "metrics"))
        lower_better = METRICS[s.metric]
        if lower_better and s.op not in ("<=", "<"):
            raise MurakkabError(f"{s.metric} is a ceiling", s.span, f"write {s.metric} <= ...")
        if not lower_better and s.op not in (">=", ">"):
            raise MurakkabError(f"{s.metric} is a floor", s.span, f"write {s.metric} >= ...")
        if isinstance(s.value, ast.Word):
            tier = s.value.name.upper()
            if tier not in TIERS:
                raise MurakkabError(f"unknown tier '{s.value.name}'", s.value.span, suggestion(tier, TIERS, "tiers"))
            return Slo(s.metric, None, tier, s.span)
        if not isinstance(s.value, ast.Quantity):
            raise MurakkabError(f"{s.metric} takes a number with a unit or a tier", s.value.span,
                                "e.g. latency <= 90 s, cost <= 2 USD, quality >= GOOD")
        value = to_base(s.value, METRIC_DIMENSION[s.metric], s.metric)
        if value < 0 or (s.metric == "quality" and value > 1):
            raise MurakkabError(f"{s.value.value:g} is out of range for {s.metric}", s.value.span,
                                "quality is between 0 and 1" if s.metric == "quality" else "use a positive value")
        if s.metric == "gpus" and value != int(value):
            raise MurakkabError(f"gpus counts whole GPUs, got {s.value.value:g}", s.value.span,
                                f"write gpus <= {int(value)}")
        return Slo(s.metric, value, None, s.span)

    def _goal(self, o: ast.Objective) -> Goal:
        if o.metric not in METRICS:
            raise MurakkabError(f"cannot optimise '{o.metric}'", o.span, suggestion(o.metric, METRICS, "metrics"))
        if (o.direction == "minimize") != METRICS[o.metric]:
            better = "MINIMIZE" if METRICS[o.metric] else "MAXIMIZE"
            raise MurakkabError(f"{o.direction.upper()} {o.metric} asks for a worse plan", o.span,
                                f"write {better} {o.metric}")
        return Goal(o.metric, o.direction == "minimize")


def _once(items: list[tuple[str, Span]], message: str, hint: str) -> None:
    """A metric named twice in one list (two SLOs, two goals) is a mistake at the second."""
    seen: set[str] = set()
    for name, span in items:
        if name in seen:
            raise MurakkabError(message.format(f"'{name}'"), span, hint)
        seen.add(name)


def _name_one(task: ast.Task, closest: Sequence[Match]) -> str:
    """The hint of a refused plain-words step: the closest interfaces, and how to name one."""
    shown = ", ".join(f"{m.name} ({m.score:.2f})" for m in closest)
    args = ", ".join(r.name for r in task.args)
    name = closest[0].name if closest else "interface_name"
    return (f"closest: {shown}; to use one, name it: {task.name} := {name} ({args}); "
            "SHOW INTERFACES lists them all")


def _called(task: ast.Task, iface: Interface) -> str:
    """An interface as an error names it: with the user's phrase when it was matched from one."""
    return f"{iface.name} (matched from '{task.target}')" if task.by_description else iface.name


def _check_show(stmt: ast.Show) -> None:
    """What ``show`` itself refuses before querying: an unknown target, or a FOR clause
    on a target without one (so ``check`` and ``show`` agree)."""
    if stmt.what not in SHOW_TARGETS:
        raise MurakkabError(f"cannot SHOW '{stmt.what}'", stmt.span, suggestion(stmt.what, SHOW_TARGETS,
                                                                              "things to show"))
    if stmt.subject is not None and SHOW_TARGETS[stmt.what][1] is None:
        raise MurakkabError(f"SHOW {stmt.what.upper()} takes no FOR clause", stmt.span)


def _quality_floor(value: ast.Value) -> str | float | None:
    """SET quality_floor = BASIC | FAIR | GOOD | BEST | a number in (0, 1] | off."""
    hint = "write SET quality_floor = BASIC (a tier), = 0.4, or = off"
    if isinstance(value, ast.Quantity):
        if value.unit or not 0 < value.value <= 1:
            raise MurakkabError(f"a quality floor is a number in (0, 1], not {value.value:g}", value.span, hint)
        return float(value.value)
    word = (_word_or_string(value) or "").strip()
    if word.lower() in ("off", "none", "false"):
        return None
    if word.upper() not in TIERS:
        raise MurakkabError(f"unknown quality floor '{word}'", value.span,
                            suggestion(word.upper(), TIERS, "tiers") or hint)
    return word.upper()


def _literal_text(value: ast.Value) -> str:
    """A literal as canonical text: equal values, equal text (whatever the spacing)."""
    if isinstance(value, ast.ListLit):
        return "[" + ", ".join(_literal_text(v) for v in value.items) + "]"
    if isinstance(value, ast.StringLit):
        return repr(value.value)
    if isinstance(value, ast.Quantity):
        return f"{value.value:g}{' ' + value.unit if value.unit else ''}"
    return value.name


def _literal_data(value: ast.Value) -> object:
    """A literal as Python data: str, float, or a tuple of them."""
    if isinstance(value, ast.ListLit):
        return tuple(_literal_data(v) for v in value.items)
    if isinstance(value, ast.StringLit):
        return value.value
    if isinstance(value, ast.Quantity):
        return value.value
    if value.name.lower() in BOOL_WORDS:
        return value.name.lower() == "true"
    return value.name


def _word_or_string(value: ast.Value) -> str | None:
    if isinstance(value, ast.Word):
        return value.name.lower()
    if isinstance(value, ast.StringLit):
        return value.value
    return None


BOOL_WORDS = ("true", "false")


def _check_literal(item: ast.Value, elem: Type, param: str) -> None:
    if elem.name == "NUMBER":
        if not isinstance(item, ast.Quantity):
            raise MurakkabError(f"'{param}' takes numbers", item.span)
        return
    if elem.name == "BOOL":
        if not (isinstance(item, ast.Word) and item.name.lower() in BOOL_WORDS):
            raise MurakkabError(f"'{param}' takes TRUE or FALSE", item.span, f"write {param} => TRUE")
        return
    if not isinstance(item, ast.StringLit):
        what = "a path in quotes" if elem.name in MEDIA_TYPES | {"IMAGE", "DOCUMENT"} else "quoted text"
        raise MurakkabError(f"'{param}' takes {what}", item.span, "strings use single quotes: 'like this'")


def _with_paths(value: ast.Value) -> ast.Value:
    """``value`` with each quoted path resolved against the script's directory, else the
    working directory (``compiler/probe.resolve_path``); in a list, a glob or a folder
    stands for the files it holds (``compiler/probe.expand_input``)."""
    if isinstance(value, ast.ListLit):
        items: list[ast.Value] = []
        for v in value.items:
            files = expand_input(v.value, v.span.source.name) \
                if isinstance(v, ast.StringLit) and v.span is not None else None
            if files is None:
                items.append(_with_paths(v))
            elif not files:
                what = "matches no file" if GLOB_CHARS & set(v.value) else "is a folder with no files in it"  # type: ignore[union-attr]
                raise MurakkabError(f"'{v.value}' {what}", v.span,  # type: ignore[union-attr]
                                    "a glob or folder in a list stands for its files; paths are relative to the "
                                    "job file, then to the directory you run from")
            else:
                items.extend(replace(v, value=f) for f in files)
        return replace(value, items=tuple(items))
    if isinstance(value, ast.StringLit) and value.span is not None:
        return replace(value, value=resolve_path(value.value, value.span.source.name))
    return value


# The statistics an item of each type has (count is any list's): a statistic stated for
# another type (tokens of a video) would be shown and never used.
_APPLIES: dict[str, frozenset[str]] = {
    "VIDEO": frozenset({"duration_s", "fps"}), "SCENE": frozenset({"duration_s", "fps"}),
    "MEDIA": frozenset({"duration_s", "fps"}), "AUDIO": frozenset({"duration_s"}),
    "DOCUMENT": frozenset({"tokens"}), "TEXT": frozenset({"tokens"}), "IMAGE": frozenset(),
}


def _default_attrs(type_name: str, stats: dict[str, float]) -> dict[str, float]:
    """Per-item attributes a value of this type has when nothing better is known."""
    if type_name in ("VIDEO", "SCENE", "MEDIA"):
        return {"duration_s": stats.get("video_duration_s", 0.0), "fps": stats.get("video_fps", 0.0)}
    if type_name == "AUDIO":
        return {"duration_s": stats.get("video_duration_s", 0.0)}
    if type_name == "DOCUMENT":
        return {"tokens": stats.get("document_tokens", 0.0)}
    return {}
