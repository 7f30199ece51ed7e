"""The quality of a configuration: from the catalog's workflow accuracy profile where one
matches, else from the agents' models.

The catalog's ``workflow_quality`` rows are end-to-end accuracies measured per
configuration of a whole workflow (OSDI '26 Fig. 2: video Q&A on Video-MME by
vision-language model, frames per scene F and speech-to-text on/off; code generation on
HumanEval by model, D debaters and R rounds). A row's ``config`` is a code such as
``F5,STT=Y`` or ``D4R2``; :data:`SHAPES` says which feature of a plan each letter is.

A profile applies to a job's plan when the plan has the profile's model step (the
vision-language captioner; the coder) and the plan's features equal a row's config.
Then, per candidate:

* on the model step, an agent whose serving model has a row gets that row's accuracy
  (the measured end-to-end accuracy of the configuration); an agent without a row gets
  its own quality times the profile's mean effect of the configuration: the mean, over
  the models measured at both, of accuracy at this configuration over accuracy at the
  catalog's default one (:func:`default_config`: F5 with speech-to-text, D4R2, where
  the profile-derived agent qualities were taken; a published single-model score such
  as Llama's HumanEval is read as if it were there too). So leaving speech-to-text out or
  running fewer rounds costs an unmeasured model what it costs the measured ones on
  average, not nothing;
* on every other step, an agent's quality is relative to the best agent the catalog has
  for that step (1.0 for the best, at most 1.0 when sampling lifts it), so the plan's
  product is the profile's accuracy when every other step runs as well as it can, and
  less with weaker tools.

Otherwise quality is the product of the agents' own qualities (each a published or
derived proxy for its step). :func:`job_quality_models` finds the profile of each job,
:func:`agent_quality` gives an agent's quality on a task under it (candidates are
enumerated with it, before dominated ones are pruned), and
:meth:`QualityModel.describe` names the source in EXPLAIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ...catalog.catalog import Agent, Catalog
from ..logical import MAP, LogicalPlan, Node
from .candidates import task_quality
from .plan import Candidate


@dataclass(frozen=True)
class Feature:
    """One letter of a profile's config code and what it reads from a plan: ``knob``
    (the value of an interface's knob), ``present`` (Y when a task of the interface
    exists), ``calls`` (how many items the interface's map runs over: debaters) or
    ``count`` (how many tasks of the interface: debate rounds)."""

    code: str
    kind: str
    interface: str
    knob: str = ""


@dataclass(frozen=True)
class Shape:
    workflow: str
    model_interface: str
    features: tuple[Feature, ...]


SHAPES: tuple[Shape, ...] = (
    Shape("video_qa", "frame_summarization",
          (Feature("F", "knob", "frame_extraction", "frames_per_scene"), Feature("STT", "present", "speech_to_text"))),
    Shape("code_gen", "code_generation",
          (Feature("D", "calls", "code_generation"), Feature("R", "count", "debate_round"))),
)

# The feature kinds a plan-shaping knob (catalog ``effect``) changes: a step present or
# not (optional), the items a step maps over (limit), how many tasks of an interface (repeat).
STRUCTURE_FEATURES = {"present": "optional", "calls": "limit", "count": "repeat"}

_CODE = re.compile(r"([A-Za-z]+?)(?:=([A-Za-z]+)|(\d+))(?=[A-Z,]|$)")


def parse_config(code: str) -> dict[str, str]:
    """``'F5,STT=Y'`` -> {'F': '5', 'STT': 'Y'}; ``'D4R2'`` -> {'D': '4', 'R': '2'}."""
    return {m.group(1).upper(): (m.group(2) or m.group(3)).upper() for m in _CODE.finditer(code.replace(" ", ""))}


@dataclass(frozen=True)
class QualityModel:
    """Where a plan's quality comes from. ``profile`` is None when no workflow accuracy
    profile applies (``why`` says why not)."""

    profile: str | None = None
    config: str = ""
    metric: str = ""
    model_tasks: tuple[str, ...] = ()
    accuracy: tuple[tuple[str, float], ...] = ()  # serving model (lower case) -> accuracy
    why: str = ""
    tasks: frozenset[str] = frozenset()
    # For a model without a row: the profile's mean effect of ``config`` against ``reference``.
    effect: float = 1.0
    reference: str = ""

    def covers(self, task: str) -> bool:
        return task in self.tasks

    def describe(self, choice: dict[str, Candidate], catalog: Catalog) -> str:
        """One line for EXPLAIN: the source of the chosen plan's quality."""
        if self.profile is None:
            return f"product of the agents' qualities ({self.why})"
        acc = dict(self.accuracy)
        used = []
        for t in self.model_tasks:
            agent = catalog.agent(choice[t].agent) if t in choice else None
            model = agent.serving_model.lower() if agent is not None else ""
            if model in acc:
                used.append(f"{choice[t].agent} = {acc[model]:.3f}")
            elif self.effect != 1.0:
                used.append(f"{choice[t].agent} has no row: its own quality x {self.effect:.3f} (the measured "
                            f"models' mean accuracy at {self.config} over {self.reference}) = {choice[t].quality:.3f}")
            else:
                used.append(f"{choice[t].agent} has no row, its own {choice[t].quality:.3f}")
        return (f"workflow accuracy profile {self.profile} ({self.metric}) at {self.config}: {'; '.join(used)}; "
                "other steps relative to their best agent")


def plan_features(plan: LogicalPlan, tasks: list[Node], shape: Shape) -> dict[str, str] | None:
    """The plan's value of each feature of ``shape``, or None when a feature is
    undefined (its interface absent, or two tasks disagree on a knob)."""
    by_iface: dict[str, list[Node]] = {}
    for n in tasks:
        by_iface.setdefault(n.interface or "", []).append(n)
    out: dict[str, str] = {}
    for f in shape.features:
        nodes = by_iface.get(f.interface, [])
        if f.kind == "present":
            out[f.code] = "Y" if nodes else "N"
        elif f.kind == "count":
            out[f.code] = str(len(nodes))
        elif not nodes:
            return None
        elif f.kind == "knob":
            values = {dict(n.knobs).get(f.knob) for n in nodes}
            if len(values) != 1 or None in values:
                return None
            out[f.code] = f"{values.pop():g}"
        else:  # calls: items the map runs over
            calls = {plan.node(n.over).stats.items if n.op == MAP and n.over else 1.0 for n in nodes}
            if len(calls) != 1:
                return None
            out[f.code] = f"{calls.pop():g}"
    return out


def default_config(shape: Shape, catalog: Catalog) -> dict[str, str]:
    """The value of each feature of ``shape`` under the catalog's default knobs, the
    reference of a model's own quality (a present step's default is its optional knob's)."""
    out: dict[str, str] = {}
    for f in shape.features:
        iface = catalog.interface(f.interface)
        knobs = iface.knobs if iface is not None else ()
        if f.kind == "knob":
            knob = next((k for k in knobs if k.name == f.knob), None)
            out[f.code] = f"{knob.default:g}" if knob is not None else ""
            continue
        knob = next((k for k in knobs if k.effect == STRUCTURE_FEATURES[f.kind]), None)
        if f.kind == "present":
            out[f.code] = "N" if knob is not None and knob.default == 0 else "Y"
        else:
            out[f.code] = f"{knob.default:g}" if knob is not None else "1"
    return out


def quality_model(plan: LogicalPlan, task_ids: list[str], catalog: Catalog) -> QualityModel:
    """The workflow accuracy profile that applies to these tasks of ``plan``, if any."""
    tasks = [plan.node(t) for t in task_ids]
    interfaces = {n.interface for n in tasks}
    reasons = []
    for shape in SHAPES:
        if shape.model_interface not in interfaces:
            continue
        rows = catalog.workflow_quality(shape.workflow)
        if not rows:
            continue
        features = plan_features(plan, tasks, shape)
        if features is None:
            reasons.append(f"the plan has no single value of every {shape.workflow} profile feature")
            continue
        matching = [r for r in rows if parse_config(r.config) == features]
        code = ",".join(f"{k}={v}" for k, v in features.items())
        if not matching:
            reasons.append(f"the {shape.workflow} accuracy profile has no row at {code}")
            continue
        reference = default_config(shape, catalog)
        at_reference = {r.model.lower(): r.value for r in rows if parse_config(r.config) == reference}
        ratios = [r.value / at_reference[r.model.lower()] for r in matching if at_reference.get(r.model.lower())]
        return QualityModel(
            shape.workflow, matching[0].config, matching[0].metric,
            tuple(n.id for n in tasks if n.interface == shape.model_interface),
            tuple(sorted((r.model.lower(), r.value) for r in matching)), tasks=frozenset(task_ids),
            effect=sum(ratios) / len(ratios) if ratios else 1.0,
            reference=next((r.config for r in rows if parse_config(r.config) == reference),
                           ",".join(f"{k}={v}" for k, v in reference.items())))
    return QualityModel(why="; ".join(reasons) or "no workflow accuracy profile matches the job's steps")


def job_quality_models(plan: LogicalPlan, catalog: Catalog,
                       scopes: dict[str, frozenset[str]] | None = None) -> dict[str, QualityModel]:
    """The quality model of each job of ``plan`` (``scopes``: a joint plan's jobs, else
    the one job, keyed '')."""
    ids = [n.id for n in plan.tasks]
    groups = {label: [t for t in ids if t in mine] for label, mine in scopes.items()} if scopes else {"": ids}
    return {label: quality_model(plan, task_ids, catalog) for label, task_ids in groups.items()}


def quality_function(plan: LogicalPlan, catalog: Catalog,
                     scopes: dict[str, frozenset[str]] | None = None) -> Callable[[Node, Agent], float]:
    """An agent's quality on a task of ``plan`` under its jobs' quality models: what
    ``enumerate_candidates`` takes as ``quality``."""
    models = job_quality_models(plan, catalog, scopes)
    return lambda node, agent: agent_quality(models, node, agent, catalog)


def agent_quality(models: dict[str, QualityModel], node: Node, agent: Agent, catalog: Catalog) -> float:
    """An agent's quality on a task under the job's quality model (module docstring)."""
    own = task_quality(node, agent)
    model = next((m for m in models.values() if m.profile is not None and m.covers(node.id)), None)
    if model is None:
        return own
    if node.id in model.model_tasks:
        return dict(model.accuracy).get(agent.serving_model.lower(), min(1.0, own * model.effect))
    # Relative to the best agent's own quality, not its voted one: sampling a task
    # (expand_paths) lifts a model's answer, and must not lower a tool's that it cannot lift.
    best = max((a.quality for a in catalog.agents(node.interface or "")), default=own)
    return min(1.0, own / best) if best > 0 else own
