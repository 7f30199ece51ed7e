"""Serving a fleet plan on Ray Serve: ``murakkab serve``.

What is deployed. One Serve deployment per instance profile the plan provisions and
routes to (``FleetPlan.solution.instances``), named after the profile, with the plan's
instance count as its replicas, capped at ``max_replicas`` (this machine holds a few
replicas, not a fleet: both numbers are in :meth:`ServePlan.describe`). An ``ingress``
deployment answers ``POST /workflows/<name>`` with the JSON body ``{"inputs": {...},
"slo": "quality >= GOOD"}`` (``slo`` optional) and ``GET /workflows`` with what is served.

What runs here. There are no GPUs and no model weights on this machine: each replica
stands for its profile (an LLM on 4 H100s, TransNetV2 on an A100, ...) but runs the
offline agent of the stage's interface from ``runtime/agents`` (:func:`stage_agents`):
scene detection, frame extraction and speech-to-text with OpenCV and PocketSphinx, and
for the video Q&A model call, the frames described by ``opencv-describe`` and the question
answered by ``extractive-qa`` (BM25 over the captions and transcripts), or by
``openai-chat`` where ``$MURAKKAB_LLM_BASE_URL`` (or ``$OPENAI_BASE_URL``) names an
OpenAI-compatible endpoint. Every answer says so: ``served_by`` per stage and
``stand_in``. A replica reserves a fraction of a core (``ray_actor_options``): the
plan's GPUs are not here, and the replicas share this machine's cores. A workflow whose
stages have no local agent (``code_gen``: no code-generation, test-execution or ranking
agent ships with murakkab) is not served: its endpoint answers 501 with the reason.

A request. The ingress picks the (workflow, SLO) pair by the request's ``slo`` (compared
without spaces or case; none: the workflow's first pair), then one of the pair's
configurations with probability its routing fraction in the plan (a seeded RNG:
:func:`pick_option`), then calls the stage deployments through deployment handles in
the order of the workflow's DAG (``compiler/fleet/workload.SHAPES``; independent stages
at once), with the configuration's knobs (frames per scene). The answer: the result,
the configuration's label, per stage the profile, the agents, seconds as the ingress saw
them (queueing included) and inside the replica, and the end-to-end seconds.

Between epochs. :func:`epoch_replicas` gives, per demand window of the plan, the
instances each profile needs for that window's rates (the MILP's capacity constraint
read per window); :class:`EpochScaler` applies them, capped, with :meth:`Server.scale`,
one window per epoch. Serve gives a deployment it is handed from Python a new random
version on every ``serve.run``, which would restart every replica; each deployment here
gets a version derived from what it runs, so a change of replica count is Serve's
lightweight update: only the added or removed replicas start or stop.

Inputs. ``video_qa`` takes ``{"videos": [path, or {"path", "start_s", "end_s"}],
"question": text}``; paths are read under the media folder (``murakkab serve`` uses the
directory it runs in), a path that climbs out of it is refused (links placed inside it
are followed), and the server listens on 127.0.0.1 only.

The command (:func:`serve_command`) plans the script's PLAN FLEET, deploys it, prints the
endpoints and then either replays a trace slice with ``runtime/loadgen.py`` and prints its
metrics (exit 1 when no replayed request was answered), or serves until SIGINT or
SIGTERM; Serve and Ray are shut down on every way out.

Ray Serve is an extra: ``pip install 'murakkab[ray]'``. Nothing here imports Ray until a
server is started.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..argtypes import port, positive_float, positive_int
from ..compiler.fleet.workload import SHAPES
from ..compiler.physical.accuracy import parse_config
from ..grammar.diagnostics import MurakkabError

if TYPE_CHECKING:
    from ..compiler.fleet.plan import FleetPlan
    from .agents.registry import AgentSpec

APP_NAME = "murakkab-fleet"
INGRESS = "ingress"
HOST = "127.0.0.1"  # localhost only: the endpoints read media files of this machine
DEFAULT_PORT = 8000
DEFAULT_MAX_REPLICAS = 2
# The most of a core one replica reserves; fewer when many replicas share the cores.
MAX_CPU_SHARE = 0.5
# A tool instance serves one request's stage at a time (compiler/fleet/workload.py), so a
# tool replica takes one call at a time and Serve queues the rest; an LLM instance batches.
TOOL_CONCURRENCY = 1
LLM_CONCURRENCY = 8
INGRESS_CONCURRENCY = 64
# Replicas hold no state worth draining for long: shutting down takes a second, not 20.
SHUTDOWN_WAIT_S = 0.2
SHUTDOWN_TIMEOUT_S = 2.0
MAX_VIDEOS = 16  # per request
STAND_IN = ("offline agents of the same interfaces stand for the planned model instances on this machine "
            "(no GPUs or model weights here)")

# The model call of each workflow, as interfaces of local agents (in call order); tool
# stages use their own interface (SHAPES). Video Q&A: a vision-language model reads the
# frames and the transcript; here the frames are described, then the question answered.
LLM_INTERFACES: dict[str, tuple[str, ...]] = {
    "video_qa": ("frame_summarization", "question_answering"),
    "code_gen": ("code_generation", "debate_round"),
}


class RequestError(Exception):
    """A request the ingress refuses: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# -- stage bodies: what a replica runs for one request's stage ---------------------------------
# Each takes the stage's agents (in the order of its interfaces), the prepared inputs, the
# outputs of the stages it comes after, and the configuration's knobs.
Body = Callable[[Sequence["AgentSpec"], dict[str, Any], dict[str, Any], dict[str, Any]], Any]


def _scenes(agents: Sequence[AgentSpec], inputs: dict[str, Any], upstream: dict[str, Any],
            knobs: dict[str, Any]) -> list[Any]:
    (detect,) = agents
    return [scene for clip in inputs["clips"] for scene in detect(clip)]


def _frames(agents: Sequence[AgentSpec], inputs: dict[str, Any], upstream: dict[str, Any],
            knobs: dict[str, Any]) -> list[list[Any]]:
    (extract,) = agents
    return [extract(scene, frames_per_scene=knobs["frames_per_scene"]) for scene in upstream["scenes"]]


def _transcript(agents: Sequence[AgentSpec], inputs: dict[str, Any], upstream: dict[str, Any],
                knobs: dict[str, Any]) -> list[str]:
    (transcribe,) = agents
    return [transcribe(scene) for scene in upstream["scenes"]]


def _video_answer(agents: Sequence[AgentSpec], inputs: dict[str, Any], upstream: dict[str, Any],
                  knobs: dict[str, Any]) -> str:
    describe, answer = agents
    captions = [describe(frame) for frames in upstream.get("frames", []) for frame in frames]
    # Without speech-to-text (STT=N) the model sees the frames alone.
    return str(answer(inputs["question"], captions, upstream.get("transcript", [])))


BODIES: dict[tuple[str, str], Body] = {
    ("video_qa", "scenes"): _scenes,
    ("video_qa", "frames"): _frames,
    ("video_qa", "transcript"): _transcript,
    ("video_qa", "llm"): _video_answer,
}


def _video_qa_knobs(features: dict[str, str]) -> dict[str, Any]:
    return {"frames_per_scene": int(features.get("F", "5"))}


# A configuration's code (``F5,STT=Y``) as the knobs its stages run with; STT=N is the
# transcript stage's absence from the configuration, not a knob.
KNOBS: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {"video_qa": _video_qa_knobs}


def _items(output: Any) -> int:
    """How many items a stage produced: a list of lists counts its leaves."""
    if isinstance(output, list):
        return sum(_items(o) if isinstance(o, list) else 1 for o in output)
    return 1


# -- request inputs ----------------------------------------------------------------------------
def _clip(item: Any, root: Path) -> Any:
    from .agents.errors import MediaError
    from .agents.values import Clip, media_duration

    if isinstance(item, str):
        item = {"path": item}
    if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
        raise RequestError(400, "each video is a path, or {\"path\": ..., \"start_s\": ..., \"end_s\": ...}")
    # Checked on the path as written (``..`` folded, links not followed): a request cannot
    # climb out of the folder, and links its owner put inside it are served.
    path = Path(os.path.normpath(root / item["path"]))
    if not path.is_relative_to(root):
        raise RequestError(403, f"{item['path']} is outside the served media folder {root}")
    if not path.is_file():
        raise RequestError(400, f"no file {item['path']} under {root}")
    try:
        duration = media_duration(path)
        start, end = item.get("start_s", 0.0), item.get("end_s")
        if not isinstance(start, (int, float)) or (end is not None and not isinstance(end, (int, float))):
            raise ValueError("start_s and end_s are numbers of seconds")
        return Clip(str(path), float(start), min(float(end), duration) if end is not None else duration)
    except (MediaError, ValueError) as exc:
        raise RequestError(400, f"{item['path']}: {exc}") from None


def _video_qa_inputs(inputs: dict[str, Any], root: Path) -> dict[str, Any]:
    question, videos = inputs.get("question"), inputs.get("videos")
    if not isinstance(question, str) or not question.strip():
        raise RequestError(400, "video_qa needs inputs.question, a non-empty text")
    if not isinstance(videos, list) or not videos or len(videos) > MAX_VIDEOS:
        raise RequestError(400, f"video_qa needs inputs.videos, a list of 1 to {MAX_VIDEOS} videos")
    return {"question": question, "clips": [_clip(v, root) for v in videos]}


PREPARE: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {"video_qa": _video_qa_inputs}
# The replay's inputs when none are given: the bundled samples (samples/README.md), in turn.
EXAMPLE_INPUTS: dict[str, list[dict[str, Any]]] = {
    "video_qa": [{"videos": ["samples/kitchen.mp4"], "question": "What is on the table?"},
                 {"videos": ["samples/city_walk.mp4"], "question": "What is the man holding in the rain?"}]}


# -- the serve plan: what is deployed, built from a fleet plan (no Ray) ------------------------
@dataclass(frozen=True)
class StageCall:
    """One stage of a configuration: the deployment that runs it, after which stages."""

    stage: str
    deployment: str
    profile: str
    after: tuple[str, ...]


@dataclass(frozen=True)
class Option:
    """One configuration a pair routes to, with its routing fraction and planned numbers."""

    label: str
    share: float
    accuracy: float
    latency_s: float  # planned end to end, on the profiles it stands for
    knobs: tuple[tuple[str, Any], ...]
    stages: tuple[StageCall, ...]  # in DAG order


@dataclass(frozen=True)
class Route:
    """A (workflow, SLO) pair of the plan and its routing."""

    workflow: str
    slo: str
    share: float  # of the workflow's requests
    min_accuracy: float
    max_latency_s: float | None
    options: tuple[Option, ...]


@dataclass(frozen=True)
class DeploymentSpec:
    """One Serve deployment: an instance profile of the plan."""

    name: str
    profile: str
    kind: str  # llm | tool | api
    hardware: str
    units: int
    gpu: bool
    planned: int  # the plan's instance count
    replicas: int  # deployed here: the count capped at max_replicas
    max_ongoing: int
    agents: tuple[tuple[str, tuple[str, ...]], ...]  # ("workflow/stage", agent names)

    def stands_for(self) -> str:
        return f"{self.hardware} x{self.units}" if self.hardware else "an API endpoint"


@dataclass(frozen=True)
class ServePlan:
    """What :func:`deploy` starts: deployments, routes per workflow, and what is not served."""

    deployments: tuple[DeploymentSpec, ...]
    routes: tuple[Route, ...]
    unserved: tuple[tuple[str, str], ...]  # (workflow, why)
    max_replicas: int
    seed: int
    media_root: str

    def workflows(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.workflow for r in self.routes))

    def deployment(self, name_or_profile: str) -> DeploymentSpec:
        for d in self.deployments:
            if name_or_profile in (d.name, d.profile):
                return d
        raise MurakkabError(f"no deployment '{name_or_profile}'",
                            hint="one of " + ", ".join(d.name for d in self.deployments))

    def describe(self) -> dict[str, Any]:
        """The plan as JSON-ready data (``GET /workflows`` answers it)."""
        return {"endpoints": {w: f"POST /workflows/{w}" for w in self.workflows()},
                "routes": [{"workflow": r.workflow, "slo": r.slo, "share": r.share, "min_quality": r.min_accuracy,
                            "max_latency_s": r.max_latency_s,
                            "options": [{"configuration": o.label, "share": o.share} for o in r.options]}
                           for r in self.routes],
                "deployments": [{"name": d.name, "profile": d.profile, "kind": d.kind, "stands_for": d.stands_for(),
                                 "planned_replicas": d.planned, "replicas": d.replicas,
                                 "served_by": {k: " + ".join(v) for k, v in d.agents}}
                                for d in self.deployments],
                "unserved": {w: why for w, why in self.unserved}, "max_replicas": self.max_replicas,
                "stand_in": STAND_IN}


def choose_agent(interface: str, *, prefer_endpoint: bool = False) -> str | None:
    """The built-in agent that runs ``interface`` on this machine: an offline one (the
    first in the registry's order), or, with ``prefer_endpoint``, an endpoint agent whose
    endpoint is configured (``openai-chat`` with $MURAKKAB_LLM_BASE_URL set). Built-ins
    only: Serve's replicas import agents by name."""
    from .agents.registry import BUILTIN_AGENTS, registered

    order = list(BUILTIN_AGENTS)
    specs = sorted((s for s in registered(interface) if s.name in BUILTIN_AGENTS and s.missing() is None),
                   key=lambda s: order.index(s.name))
    endpoint = [s.name for s in specs if s.needs_env]
    offline = [s.name for s in specs if not s.needs_env]
    ranked = endpoint + offline if prefer_endpoint else offline + endpoint
    return ranked[0] if ranked else None


def stage_interfaces(workflow: str, stage: str) -> tuple[str, ...]:
    """The interfaces of the local agents that run ``stage`` of ``workflow``."""
    if stage == "llm":
        return LLM_INTERFACES.get(workflow, ())
    return tuple(t.interface for t in SHAPES[workflow].tools if t.name == stage)


def stage_agents(workflow: str, stages: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], str | None]:
    """Agents for each stage of ``workflow`` on this machine, or why it cannot be served."""
    found: dict[str, tuple[str, ...]] = {}
    missing = []
    for stage in stages:
        names = []
        for interface in stage_interfaces(workflow, stage):
            name = choose_agent(interface, prefer_endpoint=stage == "llm")
            if name is None:
                missing.append(f"{interface} (stage {stage})")
            else:
                names.append(name)
        found[stage] = tuple(names)
    if missing:
        return found, "no agent on this machine for " + ", ".join(missing)
    if any((workflow, s) not in BODIES for s in stages):
        return found, f"no request runner for {workflow} here"
    return found, None


def _dag_order(workflow: str, stages: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The stages with the stages each comes after (those present), upstream first."""
    shape = SHAPES[workflow]
    after = {t.name: t.after for t in shape.tools}
    after["llm"] = shape.llm_after
    present = set(stages)
    deps = {s: tuple(d for d in after.get(s, ()) if d in present) for s in stages}
    order: list[str] = []
    while len(order) < len(deps):
        ready = [s for s in stages if s not in order and all(d in order for d in deps[s])]
        if not ready:
            raise ValueError(f"{workflow}: the stages {sorted(present)} form a cycle")
        order.extend(ready[:1])
    return [(s, deps[s]) for s in order]


def _deployment_name(profile: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", profile).strip("-") or "profile"
    name, k = base, 1
    while name in taken or name == INGRESS:
        k += 1
        name = f"{base}-{k}"
    taken.add(name)
    return name


def serve_plan(plan: FleetPlan, *, max_replicas: int = DEFAULT_MAX_REPLICAS, seed: int = 0,
               media_root: str | Path = ".") -> ServePlan:
    """What to deploy for ``plan`` on this machine (see the module docstring)."""
    if max_replicas < 1:
        raise MurakkabError(f"max_replicas is at least 1, got {max_replicas}")
    catalogue, solution = plan.catalogue, plan.solution
    agents: dict[str, dict[str, tuple[str, ...]]] = {}
    unserved: dict[str, str] = {}
    for workflow in dict.fromkeys(p.workflow for p in plan.pairs):
        stages = sorted({s for i, p in enumerate(plan.pairs) if p.workflow == workflow
                         for c, _ in solution.routing.get(i, []) for s, _ in c.stages})
        if workflow not in SHAPES:
            unserved[workflow] = f"no request runner for {workflow} here"
            continue
        stages = [s for s, _ in _dag_order(workflow, stages)]
        found, why = stage_agents(workflow, stages)
        if why is None and (workflow not in KNOBS or workflow not in PREPARE):
            why = f"no request runner for {workflow} here"
        if why is not None:
            unserved[workflow] = why
        else:
            agents[workflow] = found
    names: dict[str, str] = {}
    taken: set[str] = set()
    uses: dict[str, dict[str, tuple[str, ...]]] = {}
    routes = []
    for i, pair in enumerate(plan.pairs):
        if pair.workflow not in agents:
            continue
        options = []
        for config, share in solution.routing.get(i, []):
            if share <= 1e-9:
                continue
            calls = []
            profiles = dict(config.stages)
            for stage, after in _dag_order(pair.workflow, list(profiles)):
                key = profiles[stage]
                if key not in names:
                    names[key] = _deployment_name(key, taken)
                uses.setdefault(key, {})[f"{pair.workflow}/{stage}"] = agents[pair.workflow][stage]
                calls.append(StageCall(stage, names[key], key, after))
            knobs = KNOBS[pair.workflow](parse_config(config.code))
            options.append(Option(config.label(), share, config.accuracy, config.latency_s,
                                  tuple(sorted(knobs.items())), tuple(calls)))
        total = sum(o.share for o in options)
        if total <= 0:
            continue
        options = [replace(o, share=o.share / total) for o in options]
        routes.append(Route(pair.workflow, pair.label, pair.share, pair.min_accuracy,
                            pair.max_latency_s if math.isfinite(pair.max_latency_s) else None, tuple(options)))
    deployments = []
    for key, name in names.items():
        prof = catalogue.profiles[key]
        planned = int(solution.instances.get(key, 0))
        deployments.append(DeploymentSpec(
            name, key, prof.kind, prof.hardware, prof.units, prof.gpu, planned,
            max(1, min(planned, max_replicas)), TOOL_CONCURRENCY if prof.kind == "tool" else LLM_CONCURRENCY,
            tuple(sorted(uses[key].items()))))
    return ServePlan(tuple(sorted(deployments, key=lambda d: d.name)), tuple(routes), tuple(sorted(unserved.items())),
                     max_replicas, seed, str(Path(media_root).resolve()))


# -- routing -------------------------------------------------------------------------------------
def _slo_key(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def pick_route(routes: Sequence[Route], slo: str | None) -> Route:
    """The route whose SLO reads as ``slo`` (spaces and case aside); none asked: the first."""
    if slo is None:
        return routes[0]
    for r in routes:
        if _slo_key(r.slo) == _slo_key(slo):
            return r
    raise RequestError(400, f"{routes[0].workflow} has no SLO '{slo}': one of " + ", ".join(r.slo for r in routes))


def pick_option(options: Sequence[Option], rng: random.Random) -> Option:
    """A configuration drawn with probability its routing fraction."""
    x = rng.random()
    acc = 0.0
    for o in options:
        acc += o.share
        if x < acc:
            return o
    return options[-1]  # shares add up to 1 up to rounding


# -- the deployments (their classes run inside Ray Serve replicas) -----------------------------
class StageServer:
    """A replica of one instance profile: runs the stages routed to the profile with the
    local agents chosen for them (see the module docstring), and times each call."""

    def __init__(self, profile: str, agents: dict[str, tuple[str, ...]]) -> None:
        from .agents.registry import get

        self.profile = profile
        # Resolved now, so a replica that cannot import an agent fails at deployment.
        self.agents = {key: tuple(get(n) for n in names) for key, names in agents.items()}

    def run(self, workflow: str, stage: str, inputs: dict[str, Any], upstream: dict[str, Any],
            knobs: dict[str, Any]) -> dict[str, Any]:
        from .agents.errors import AgentError

        started = time.perf_counter()
        try:
            output = BODIES[(workflow, stage)](self.agents[f"{workflow}/{stage}"], inputs, upstream, knobs)
        except AgentError as exc:  # MediaError is one: the input's fault, said as the agent says it
            return {"error": str(exc), "status": 422}
        except Exception as exc:  # noqa: BLE001 - the ingress answers 500 with what failed
            return {"error": f"{type(exc).__name__}: {exc}", "status": 500}
        return {"output": output, "compute_s": time.perf_counter() - started, "pid": os.getpid()}


class Ingress:
    """The HTTP entry point: ``POST /workflows/<name>`` runs one request through the
    stage deployments; ``GET /workflows`` describes the plan."""

    def __init__(self, plan: ServePlan, handles: dict[str, Any]) -> None:
        self.plan = plan
        self.handles = handles
        self.rng = random.Random(plan.seed)

    async def __call__(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        try:
            status, body = await self.handle(request.method, request.url.path, await request.body())
        except RequestError as exc:
            status, body = exc.status, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a replica lost, a handle failing: said, not a traceback
            status, body = 503, {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        return JSONResponse(body, status_code=status)

    async def handle(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if parts == ["workflows"] and method == "GET":
            return 200, self.plan.describe()
        if len(parts) != 2 or parts[0] != "workflows":
            raise RequestError(404, f"no endpoint {path}: POST /workflows/<name> with one of "
                               + ", ".join(self.plan.workflows()))
        if method != "POST":
            raise RequestError(405, f"{path} answers POST")
        return 200, await self.answer(parts[1], raw)

    async def answer(self, workflow: str, raw: bytes) -> dict[str, Any]:
        why = dict(self.plan.unserved).get(workflow)
        if why is not None:
            raise RequestError(501, f"{workflow} is not served on this machine: {why}")
        routes = [r for r in self.plan.routes if r.workflow == workflow]
        if not routes:
            raise RequestError(404, f"no workflow '{workflow}': one of " + ", ".join(self.plan.workflows()))
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise RequestError(400, "the body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("inputs", {}), dict) \
                or not isinstance(body.get("slo"), (str, type(None))):
            raise RequestError(400, 'the body is {"inputs": {...}, "slo": "quality >= GOOD"} (slo optional)')
        route = pick_route(routes, body.get("slo"))
        option = pick_option(route.options, self.rng)
        inputs = await asyncio.to_thread(PREPARE[workflow], body.get("inputs", {}), Path(self.plan.media_root))
        started = time.perf_counter()
        stages = await self.run_stages(workflow, option, inputs, started)
        sink = option.stages[-1].stage
        return {"workflow": workflow, "slo": route.slo, "max_latency_s": route.max_latency_s,
                "min_quality": route.min_accuracy, "configuration": option.label,
                "planned": {"quality": option.accuracy, "latency_s": option.latency_s},
                "result": stages[sink].pop("output"),
                "served_by": {s: v["served_by"] for s, v in stages.items()},
                "stages": stages, "seconds": time.perf_counter() - started, "stand_in": STAND_IN}

    async def run_stages(self, workflow: str, option: Option, inputs: dict[str, Any],
                         started: float) -> dict[str, dict[str, Any]]:
        knobs = dict(option.knobs)
        outputs: dict[str, Any] = {}
        report: dict[str, dict[str, Any]] = {}
        agents = {d.name: dict(d.agents) for d in self.plan.deployments}
        tasks: dict[str, asyncio.Task[None]] = {}

        async def run(call: StageCall) -> None:
            await asyncio.gather(*(tasks[d] for d in call.after))
            begin = time.perf_counter()
            reply = await self.handles[call.deployment].run.remote(
                workflow, call.stage, inputs, {d: outputs[d] for d in call.after}, knobs)
            end = time.perf_counter()
            if "error" in reply:
                raise RequestError(reply["status"], f"stage {call.stage} ({call.profile}): {reply['error']}")
            outputs[call.stage] = reply["output"]
            report[call.stage] = {
                "profile": call.profile, "deployment": call.deployment,
                "served_by": " + ".join(agents[call.deployment][f"{workflow}/{call.stage}"]),
                "start_s": begin - started, "end_s": end - started, "seconds": end - begin,
                "compute_s": reply["compute_s"], "items": _items(reply["output"]), "pid": reply["pid"]}

        # Upstream first: a stage's task exists before any task that waits for it runs.
        for call in option.stages:
            tasks[call.stage] = asyncio.ensure_future(run(call))
        try:
            await asyncio.gather(*tasks.values())
        except BaseException:
            for t in tasks.values():
                t.cancel()
            raise
        ordered = {c.stage: report[c.stage] for c in option.stages}
        ordered[option.stages[-1].stage]["output"] = outputs[option.stages[-1].stage]
        return ordered


# -- deploying -----------------------------------------------------------------------------------
def require_serve() -> Any:
    """The ``ray.serve`` module, or a clear error when the extra is not installed."""
    try:
        from ray import serve
    except ImportError:
        raise MurakkabError("`murakkab serve` needs Ray Serve, which is not installed",
                            hint="pip install 'murakkab[ray]'") from None
    return serve


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As Serve's proxy binds: connections of a server just stopped (TIME_WAIT) do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _version(*parts: Any) -> str:
    from .. import __version__

    text = json.dumps([__version__, *parts], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Server:
    """A fleet plan served on Ray Serve on this machine (:func:`deploy` starts one)."""

    def __init__(self, plan: ServePlan, port: int, cpu_share: float, started_ray: bool) -> None:
        self.plan = plan
        self.port = port
        self.cpu_share = cpu_share
        self.started_ray = started_ray
        self.replicas = {d.name: d.replicas for d in plan.deployments}
        self.versioned = True  # whether Serve took our versions (see _options)
        self.closed = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def endpoint(self, workflow: str) -> str:
        return f"{self.url}/workflows/{workflow}"

    def _options(self, deployment: Any, version: str, **options: Any) -> Any:
        common = {"ray_actor_options": {"num_cpus": self.cpu_share},
                  "graceful_shutdown_wait_loop_s": SHUTDOWN_WAIT_S, "graceful_shutdown_timeout_s": SHUTDOWN_TIMEOUT_S}
        if self.versioned:
            try:
                # Serve's private version option; without it each serve.run restarts every replica.
                return deployment.options(version=version, _internal=True, **common, **options)
            except (TypeError, ValueError):
                self.versioned = False
        return deployment.options(**common, **options)

    def application(self) -> Any:
        """The Serve application with the current replica counts."""
        serve = require_serve()
        bound = {}
        for d in self.plan.deployments:
            bound[d.name] = self._options(
                serve.deployment(StageServer), _version(asdict(d) | {"replicas": None}, self.cpu_share),
                name=d.name, num_replicas=self.replicas[d.name], max_ongoing_requests=d.max_ongoing,
            ).bind(d.profile, dict(d.agents))
        ingress = self._options(serve.deployment(Ingress), _version(asdict(self.plan) | {"deployments": [
            asdict(d) | {"replicas": None} for d in self.plan.deployments]}, self.cpu_share),
            name=INGRESS, num_replicas=1, max_ongoing_requests=INGRESS_CONCURRENCY)
        return ingress.bind(self.plan, bound)

    def _run(self) -> None:
        serve = require_serve()
        try:
            serve.run(self.application(), name=APP_NAME, route_prefix="/")
        except RuntimeError as exc:
            raise MurakkabError(f"Ray Serve could not deploy the fleet: {str(exc).splitlines()[0]}",
                                hint="the replicas' logs are under /tmp/ray/session_latest/logs/serve") from None

    def scale(self, deployment: str, replicas: int) -> int:
        """Give ``deployment`` (a name or a profile) ``replicas`` replicas, at least 1 and
        at most ``max_replicas``; returns the count set. Only the added or removed
        replicas start or stop (module docstring), unless Serve refused our versions."""
        d = self.plan.deployment(deployment)
        n = max(1, min(int(replicas), self.plan.max_replicas))
        with self._lock:
            if self.closed:
                raise MurakkabError("the server is shut down")
            if self.replicas[d.name] != n:
                self.replicas[d.name] = n
                self._run()
        return n

    def running(self) -> dict[str, int]:
        """Running replicas per deployment, as Serve reports them."""
        serve = require_serve()
        app = serve.status().applications.get(APP_NAME)
        if app is None:
            return {}
        return {name: int(dep.replica_states.get("RUNNING", 0)) for name, dep in app.deployments.items()}

    def ray_session(self) -> str | None:
        """The Ray session's folder (its processes carry its name), when Ray is up."""
        import ray

        node = getattr(getattr(ray, "_private", None), "worker", None)  # no public accessor
        node = getattr(node, "_global_node", None)
        try:
            return str(node.get_session_dir_path()) if node is not None else None
        except AttributeError:
            return None

    def shutdown(self) -> None:
        """Stop Serve (every replica and the HTTP proxy), then Ray if :func:`deploy`
        started it. Safe to call twice."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        import ray
        from ray import serve

        try:
            if ray.is_initialized():
                serve.shutdown()
        finally:
            if self.started_ray and ray.is_initialized():
                ray.shutdown()


def deploy(plan: ServePlan, *, port: int = DEFAULT_PORT, cpus: int | None = None) -> Server:
    """Start Ray (unless connected already) and Serve on ``127.0.0.1:port``, deploy the
    plan and return when every replica is up. On failure Serve and the Ray it started
    are shut down before the error is raised."""
    serve = require_serve()
    if not plan.routes:
        raise MurakkabError("nothing to serve on this machine: " + "; ".join(f"{w}: {why}" for w, why in plan.unserved))
    if not _port_free(port):
        raise MurakkabError(f"port {port} on {HOST} is in use", hint="choose another with --port")
    from .ray_executor import connect

    import ray

    started = not ray.is_initialized()
    # Serve's driver-side INFO lines ("Started Serve", "Deployed app") are not the user's.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    connect(None, cpus or os.cpu_count() or 1, 0)
    # Every deployment may be scaled up to max_replicas: all of them must fit at once.
    total = len(plan.deployments) * plan.max_replicas + 1
    share = math.floor(100 * min(MAX_CPU_SHARE, float(ray.cluster_resources().get("CPU", 1)) / total)) / 100
    server = Server(plan, port, max(share, 0.01), started)
    try:
        serve.start(http_options={"host": HOST, "port": port})
        server._run()
    except BaseException:
        server.shutdown()
        raise
    return server


# -- between epochs ------------------------------------------------------------------------------
def epoch_replicas(plan: FleetPlan) -> tuple[float, list[dict[str, int]]]:
    """The window length (s) and, per demand window of the plan, the instances each
    profile needs for that window's rates: ceil(buffer x sum_w r_w(t) u_wm), u_wm the
    instances one request/s of workflow w keeps busy on m under the plan's routing
    (compiler/fleet/solve.py); never more than the plan's count, which is sized for the peak."""
    problem, solution, profiles = plan.problem, plan.solution, plan.catalogue.profiles
    per_rps: dict[tuple[str, str], float] = {}
    for i, pair in enumerate(problem.pairs):
        for config, share in solution.routing.get(i, []):
            for key, work in config.work:
                k = (pair.workflow, key)
                per_rps[k] = per_rps.get(k, 0.0) + pair.share * share * work / profiles[key].capacity
    demands = problem.demands
    windows = max(len(d.rates) for d in demands.values())
    window_s = max(d.window_s for d in demands.values())
    out = []
    for t in range(windows):
        need = {}
        for key, planned in sorted(solution.instances.items()):
            if planned <= 0:
                continue
            load = sum(d.rates[min(t, len(d.rates) - 1)] * per_rps.get((w, key), 0.0) for w, d in demands.items())
            need[key] = min(planned, math.ceil(problem.buffer * load - 1e-9))
        out.append(need)
    return window_s, out


class EpochScaler:
    """Applies :func:`epoch_replicas` to a server: window ``t``'s counts during epoch
    ``t`` (of ``epoch_s`` seconds of wall-clock time; the plan's window length divided by
    a replay's speed-up), the last window's after the last epoch. Runs in a thread."""

    def __init__(self, server: Server, plan: FleetPlan, epoch_s: float | None = None) -> None:
        window_s, needs = epoch_replicas(plan)
        self.server = server
        self.epoch_s = epoch_s if epoch_s is not None else window_s
        self.targets = [{server.plan.deployment(k).name: n for k, n in need.items()
                         if any(d.profile == k for d in server.plan.deployments)} for need in needs]
        self.changes: list[tuple[int, str, int]] = []  # (epoch, deployment, replicas)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, epoch: int) -> None:
        """Set the replica counts of ``epoch``."""
        target = self.targets[min(epoch, len(self.targets) - 1)]
        for name, n in sorted(target.items()):
            before = self.server.replicas[name]
            after = self.server.scale(name, n)
            if after != before:
                self.changes.append((epoch, name, after))

    def start(self) -> None:
        def loop() -> None:
            epoch = 0
            while not self._stop.wait(self.epoch_s):
                epoch += 1
                if epoch >= len(self.targets):
                    return
                try:
                    self.step(epoch)
                except MurakkabError:
                    return  # shut down meanwhile

        self.step(0)
        if len(self.targets) > 1:
            self._thread = threading.Thread(target=loop, name="murakkab-epoch-scaler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


# -- the command: murakkab serve ---------------------------------------------------------------
def add_serve_parser(subparsers: Any, parents: Sequence[Any] = ()) -> Any:
    """Add the ``serve`` command to ``subparsers`` (from ``add_subparsers``)."""
    sp = subparsers.add_parser(
        "serve", parents=list(parents), help="deploy the script's PLAN FLEET on Ray Serve on this machine",
        description="Plan the script's PLAN FLEET and serve it on Ray Serve at 127.0.0.1: one deployment per "
                    "instance profile, POST /workflows/<name> per workflow. Offline agents stand for the planned "
                    "model instances (no GPUs or weights here). With --replay, replay a trace slice against it, "
                    "print the metrics and shut down; without, serve until Ctrl-C.")
    sp.add_argument("file", help="a job script with a PLAN FLEET statement")
    sp.add_argument("--max-replicas", type=positive_int, default=DEFAULT_MAX_REPLICAS, metavar="N",
                    help=f"at most N replicas per deployment on this machine (default {DEFAULT_MAX_REPLICAS})")
    sp.add_argument("--port", type=port, default=DEFAULT_PORT, metavar="P",
                    help=f"the HTTP port on 127.0.0.1 (default {DEFAULT_PORT})")
    sp.add_argument("--seed", type=int, default=0, help="seed of the routing draws and the replay's SLO draws")
    sp.add_argument("--replay", metavar="TRACE.csv", help="replay this trace slice, print the metrics, shut down")
    sp.add_argument("--column", default="TIMESTAMP", help="the trace's column of arrival times (default TIMESTAMP)")
    sp.add_argument("--workflow", help="the workflow the replay sends to (default: the one the trace feeds in "
                                       "the plan, else the first served)")
    sp.add_argument("--inputs", metavar="FILE.json",
                    help="the replay's request inputs: a JSON object, or a list of them used in turn (default: "
                         "the bundled sample videos)")
    sp.add_argument("--requests", type=positive_int, default=20, metavar="N", help="replay at most N requests "
                                                                                    "(default 20)")
    sp.add_argument("--seconds", type=positive_float, default=60.0, metavar="S",
                    help="send for at most S seconds of wall-clock time (default 60)")
    sp.add_argument("--speedup", type=positive_float, default=1.0, metavar="X",
                    help="replay the trace X times faster (default 1)")
    sp.add_argument("--concurrency", type=positive_int, default=8, metavar="N",
                    help="requests in flight at most (default 8)")
    sp.add_argument("--timeout", type=positive_float, default=60.0, metavar="S",
                    help="seconds a replayed request waits for its answer (default 60)")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    return sp


def _replay_workflow(args: Any, plan: FleetPlan, sp: ServePlan) -> str:
    served = sp.workflows()
    if args.workflow:
        if args.workflow not in served:
            why = dict(sp.unserved).get(args.workflow)
            raise MurakkabError(f"--workflow {args.workflow} is not served here" + (f": {why}" if why else ""),
                                hint="one of " + ", ".join(served))
        return str(args.workflow)
    trace = Path(args.replay).resolve()
    for item in plan.fleet.items:
        if item.trace is not None and item.trace.resolve() == trace and item.workflow in served:
            return item.workflow
    return served[0]


def _replay_bodies(args: Any, sp: ServePlan, workflow: str, count: int) -> list[dict[str, Any]]:
    """One body per request: inputs in turn, SLOs drawn by the plan's shares (seeded)."""
    if args.inputs:
        try:
            loaded = json.loads(Path(args.inputs).read_text(encoding="utf-8"))
        except OSError as exc:
            raise MurakkabError(f"cannot read {args.inputs}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise MurakkabError(f"{args.inputs} is not JSON: {exc}") from None
        inputs = loaded if isinstance(loaded, list) else [loaded]
        if not inputs or not all(isinstance(i, dict) for i in inputs):
            raise MurakkabError(f"{args.inputs}: expected a JSON object of inputs, or a list of them")
    else:
        inputs = EXAMPLE_INPUTS.get(workflow, [])
        root = Path(sp.media_root)
        missing = [v for i in inputs for v in i.get("videos", []) if not (root / v).is_file()]
        if not inputs or missing:
            raise MurakkabError(f"no default inputs for {workflow} here"
                                + (f" ({missing[0]} is not under {root})" if missing else ""),
                                hint="give --inputs FILE.json with the workflow's inputs")
    return [{"inputs": inputs[i % len(inputs)], "slo": slo} for i, slo in enumerate(replay_slos(sp, workflow, count))]


def replay_slos(sp: ServePlan, workflow: str, count: int) -> list[str]:
    """The SLOs ``count`` replayed requests of ``workflow`` ask for: drawn by the plan's
    shares of the workflow's (workflow, SLO) pairs, with a ``random.Random(sp.seed)``."""
    routes = [r for r in sp.routes if r.workflow == workflow]
    rng = random.Random(sp.seed)
    return [rng.choices(routes, weights=[r.share for r in routes])[0].slo for _ in range(count)]


def _endpoints_text(server: Server) -> str:
    sp = server.plan
    lines = [f"serving on Ray Serve at {server.url}: {STAND_IN}"]
    for w in sp.workflows():
        slos = ", ".join(f"{r.slo} ({100 * r.share:.0f}%)" for r in sp.routes if r.workflow == w)
        lines.append(f"  POST {server.endpoint(w)}   SLOs: {slos}")
    for w, why in sp.unserved:
        lines.append(f"  not served: {w}: {why}")
    lines.append(f"deployments (replicas here / planned, at most {sp.max_replicas}; each replica reserves "
                 f"{server.cpu_share:g} of a core):")
    width = max(len(d.name) for d in sp.deployments)
    for d in sp.deployments:
        agents = "; ".join(f"{k}: {' + '.join(v)}" for k, v in d.agents)
        lines.append(f"  {d.name:<{width}}  {server.replicas[d.name]}/{d.planned}  stands for {d.profile} "
                     f"({d.stands_for()}); runs {agents}")
    return "\n".join(lines) + "\n"


def _python_sigterm() -> None:
    """Make SIGTERM stop the server as Ctrl-C does (``runtime/local.Terminated``, a
    KeyboardInterrupt), so that Serve and Ray shut down: ``ray.init`` replaces the
    handler with ``sys.exit`` and its core installs one that prints a stack and aborts."""
    from .local import Terminated

    def terminate(_signum: int, _frame: Any) -> None:
        raise Terminated

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate)


def serve_command(args: Any, catalog: Any) -> int:
    """``murakkab serve``: plan, deploy, print the endpoints; replay and stop, or serve
    until SIGINT / SIGTERM; Serve and Ray are shut down on every way out."""
    from .. import api
    from ..compiler.fleet.traces import TraceError
    from .loadgen import replay, trace_slice

    require_serve()
    plans = api.plan_fleets(Path(args.file), catalog=catalog)
    if not plans:
        raise MurakkabError(f"{args.file} has no PLAN FLEET statement",
                            hint="`murakkab serve` serves a fleet plan: PLAN FLEET FOR <workflow> AT <n> PER second ...")
    if len(plans) > 1:
        print(f"{args.file}: serving the first of its {len(plans)} PLAN FLEET statements", file=sys.stderr)
    plan = plans[0]
    sp = serve_plan(plan, max_replicas=args.max_replicas, seed=args.seed, media_root=Path.cwd())
    if not sp.routes:
        raise MurakkabError("nothing in the fleet can be served on this machine: "
                            + "; ".join(f"{w}: {why}" for w, why in sp.unserved))
    workflow, bodies, send_at = "", [], []
    if args.replay:
        workflow = _replay_workflow(args, plan, sp)
        try:
            send_at = trace_slice(args.replay, column=args.column, requests=args.requests, seconds=args.seconds,
                                  speedup=args.speedup)
        except TraceError as exc:
            raise MurakkabError(f"--replay: {exc}") from None
        if not send_at:
            raise MurakkabError(f"--replay: no request of {args.replay} falls within {args.seconds:g} s")
        bodies = _replay_bodies(args, sp, workflow, len(send_at))
    out = sys.stdout
    report = None
    stopped = False
    # Ray's driver prints its workers' errors to stdout (at shutdown Serve's controller
    # always reports its own graceful_shutdown task as killed): they go to stderr, and
    # stdout keeps what this command says, so --format json prints JSON alone.
    with contextlib.redirect_stdout(sys.stderr):
        server = deploy(sp, port=args.port)
        _python_sigterm()
        session = server.ray_session()
        window_s, _ = epoch_replicas(plan)
        scaler = EpochScaler(server, plan, epoch_s=window_s / (args.speedup if args.replay else 1.0))
        try:
            scaler.start()
            if args.format == "json" and not args.replay:
                print(json.dumps({"url": server.url, "plan": sp.describe(), "cpu_per_replica": server.cpu_share,
                                  "ray_session": session}, indent=2), file=out, flush=True)
            elif args.format == "text":
                out.write(_endpoints_text(server))
                if not args.replay:
                    print("serving until Ctrl-C (SIGINT or SIGTERM shuts Serve and Ray down)", file=out)
                out.flush()
            if args.replay:
                report = replay(server.endpoint(workflow), bodies, send_at, concurrency=args.concurrency,
                                timeout_s=args.timeout)
            else:
                while True:
                    time.sleep(0.5)
        except KeyboardInterrupt:
            if args.replay:
                raise
            stopped = True
        finally:
            scaler.stop()
            server.shutdown()
    changes = [{"epoch": e, "deployment": n, "replicas": r} for e, n, r in scaler.changes]
    # A replay none of whose requests was answered did not measure the fleet: exit 1.
    code = 1 if report is not None and not any(s.ok for s in report.samples) else 0
    if args.format == "json":
        if args.replay:
            print(json.dumps({"url": server.url, "workflow": workflow, "plan": sp.describe(),
                              "cpu_per_replica": server.cpu_share, "replay": report.to_dict() if report else None,
                              "scaling": changes, "ray_session": session, "shut_down": True}, indent=2), file=out)
    else:
        if report is not None:
            out.write(report.text())
        for c in changes:
            print(f"  epoch {c['epoch']}: {c['deployment']} scaled to {c['replicas']} "
                  f"replica{'s' if c['replicas'] != 1 else ''}", file=out)
        print(("stopped: " if stopped else "") + "Serve and Ray shut down", file=out)
    if code:
        print("error: no replayed request was answered (see the errors above)" if args.format == "text" else
              "error: no replayed request was answered: " + "; ".join(report.to_dict()["error_examples"]),
              file=sys.stderr)
    return code
