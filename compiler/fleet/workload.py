"""What a fleet can run: instance profiles, and each workflow's configurations with the
end-to-end latency and the work one request puts on each profile.

**Instance profiles.** An instance is what the fleet provisions and shares across
workflows; its profile fixes everything that decides its speed and price:

* an LLM served on GPUs: (model, GPU type, tensor-parallel degree, operating point).
  The catalog's load curve (``llm_curves``: TPOT at two offered loads, TTFT at low load)
  is read at :data:`OPERATING_POINTS` along it, linearly between the published points.
  At an operating point the instance serves ``offered_tps`` output tokens/s and each of
  its calls decodes at that point's TPOT: a lighter point is faster per call and needs
  more instances. Power: the catalog's measured power of a serving instance against its
  load (``energy_per_token`` rows with their throughput; :func:`power_curve`), from the
  GPUs' idle power at no load. Measured serving power is concave in load (ML.ENERGY:
  Llama-3.1-70B on 4 x H100 draws 63% of the GPUs' active power at 7% of its top
  throughput), so an instance held to serve costs most of its power whatever its load.
  The simulator meters the curve itself (``power``); the planner, whose MILP is linear,
  takes the least-squares line through the measured points: ``held_w`` per instance
  held plus ``busy_j_per_work`` per token (within 4% of the active power of every
  measured point).
* a tool stage's agent (scene detection, speech-to-text, test execution, ...) on
  ``units`` units of a GPU or CPU type, from the catalog's ``profiles`` (the job
  planner's cost model: ``per_item_s + per_media_s x media seconds`` per call (at the
  catalog's video_fps, for an agent whose time depends on it), busy
  power ``idle + utilisation x (active - idle)``). One instance works on one request's
  stage at a time, so its work is busy seconds and its capacity 1 s/s.
* an LLM behind an external API (``llm_apis``): no GPU and no fixed price, a price per
  token, and the rate limit as the capacity of its single endpoint.

**Configurations.** A serving workflow is one of the catalog's workflow accuracy
profiles (``workflow_quality``: video Q&A by model, frames per scene F and
speech-to-text on/off; code generation by model, D debaters, R rounds) with the stages
of one request as data (:data:`SHAPES`). A configuration is an accuracy row plus a
profile for the LLM executor and one for each tool stage; its latency is the critical
path of the request's stages (the LLM's calls at its operating point's TTFT and TPOT,
rounds in sequence, debaters in parallel, decoding the tokens of the request at
:data:`TOKEN_PERCENTILE`: ``Request.token_tail`` x the mean), its work per profile is
what one mean request asks of it. Completion tokens per request come from ``workflow_tokens`` where the catalog has
the row, else from a fit ``tokens = a_model x b_config`` over the workflow's rows (a
debate's calls scale with D x R); :attr:`Config.tokens_source` says which.

Tool agents of a stage are taken as equally accurate (the accuracy rows were measured
with one toolchain); queueing delay is not in the latency (instances are sized with the
1.15 peak buffer of the OSDI formulation, which keeps them off their knee).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ...catalog.catalog import Catalog, CurvePoint, Hardware
from ..physical.accuracy import parse_config

# Where along a load curve an LLM instance may run, as a fraction of the way from the
# low-load point to the saturation point (in offered load; TPOT interpolated linearly).
OPERATING_POINTS: tuple[float, ...] = (0.0, 0.5, 1.0)


@dataclass(frozen=True)
class InstanceProfile:
    """One kind of instance the fleet can provision. Work is output tokens for an LLM and
    busy seconds for a tool; ``capacity`` is the work per second one instance serves."""

    key: str
    kind: str  # "llm" | "tool" | "api"
    model: str
    hardware: str  # "" for an API
    units: int  # GPUs or cores per instance (0 for an API)
    gpu: bool
    capacity: float
    held_w: float  # watts per instance held, whatever its load (a tool's: its units' idle power)
    busy_j_per_work: float
    usd_per_hour: float
    usd_per_work: float = 0.0
    max_instances: int | None = None
    ttft_s: float = 0.0
    tpot_s: float = 0.0
    load: float = 1.0  # operating point: the share of the saturation throughput served
    source: str = ""
    # Measured watts per instance against the share of the saturation throughput served,
    # from (0, idle) up; empty: linear, ``held_w + busy_j_per_work x work per second``.
    power: tuple[tuple[float, float], ...] = ()

    @property
    def work_unit(self) -> str:
        return "s" if self.kind == "tool" else "tokens"

    @property
    def saturation(self) -> float:
        """Work per second one instance serves at saturation: ``capacity`` over the
        operating point's ``load`` (an LLM at a lighter point serves less of it)."""
        return self.capacity / self.load if self.load > 0 else self.capacity

    def gpus(self) -> int:
        return self.units if self.gpu else 0

    def watts(self, share: float) -> float:
        """One instance's power when it serves ``share`` of its saturation throughput:
        the measured curve where there is one (flat beyond its last point), else linear."""
        if self.power:
            return float(np.interp(share, [x for x, _ in self.power], [w for _, w in self.power]))
        return self.line_w(share)

    def line_w(self, share: float) -> float:
        """One instance's power by the planner's linear model: held, plus the energy of
        the work it serves at ``share`` of its saturation throughput."""
        return self.held_w + self.busy_j_per_work * share * self.saturation


# A configuration's latency is planned at this percentile of its requests' token load
# (OSDI '26: t_c is the p90 token load), so a latency SLO holds for that share of them.
TOKEN_PERCENTILE = 90.0


@dataclass(frozen=True)
class Request:
    """Statistics of one request's inputs (catalog defaults unless ASSUMING says).
    ``token_tail``: a request's completion tokens at :data:`TOKEN_PERCENTILE` over their
    mean, from the trace's token column (1 for a fixed rate or a trace without one); the
    configuration's tokens are taken as the mean, its latency at the tail."""

    duration_s: float
    scene_length_s: float
    token_tail: float = 1.0


@dataclass(frozen=True)
class ToolStage:
    """A tool stage of a request: ``interface`` runs ``calls`` calls over ``media_s``
    seconds of media in all, after ``after`` (stage names; "llm" is the LLM executor)."""

    name: str
    interface: str
    after: tuple[str, ...]
    calls: Callable[[Request, dict[str, str]], float]
    media_s: Callable[[Request, dict[str, str]], float]
    when: Callable[[dict[str, str]], bool] = lambda f: True


@dataclass(frozen=True)
class ServingShape:
    """How one request of a workflow runs: tool stages before and after the LLM
    executor, and how the LLM's work splits into calls (``calls_per_round``, ``rounds``)."""

    workflow: str
    tools: tuple[ToolStage, ...]
    llm_after: tuple[str, ...]
    calls_per_round: Callable[[dict[str, str]], int]
    rounds: Callable[[dict[str, str]], int]
    description: str
    has_video: bool = False  # its tool stages read a video (ASSUMING (duration = ...) applies)


def _scenes(r: Request, f: dict[str, str]) -> float:
    return max(1.0, r.duration_s / r.scene_length_s)


SHAPES: dict[str, ServingShape] = {
    "video_qa": ServingShape(
        "video_qa",
        (ToolStage("scenes", "scene_detection", (), lambda r, f: 1.0, lambda r, f: r.duration_s),
         ToolStage("frames", "frame_extraction", ("scenes",), _scenes, lambda r, f: r.duration_s),
         ToolStage("transcript", "speech_to_text", ("scenes",), _scenes, lambda r, f: r.duration_s,
                   when=lambda f: f.get("STT", "Y") == "Y")),
        ("frames", "transcript"),
        lambda f: 1, lambda f: 1,
        "scene detection, then frame extraction and speech-to-text (if STT=Y), then one "
        "call of the vision-language model", has_video=True),
    "code_gen": ServingShape(
        "code_gen",
        (ToolStage("tests", "test_execution", ("llm",), lambda r, f: float(int(f.get("D", "4"))),
                   lambda r, f: 0.0),
         ToolStage("best", "ranking", ("tests",), lambda r, f: 1.0, lambda r, f: 0.0)),
        (),
        lambda f: int(f.get("D", "4")), lambda f: int(f.get("R", "2")),
        "D coders in parallel for R rounds of calls, then the tests run on every candidate, "
        "then the ranker picks one"),
}


@dataclass(frozen=True)
class Config:
    """One way to serve a request of ``workflow``: an accuracy row, a profile per stage."""

    workflow: str
    model: str
    code: str  # the accuracy row's configuration code, e.g. "F5,STT=Y"
    accuracy: float
    latency_s: float
    tokens: float
    tokens_source: str
    work: tuple[tuple[str, float], ...]  # (profile key, work per request)
    stages: tuple[tuple[str, str], ...]  # (stage, profile key)

    def label(self) -> str:
        return f"{self.model} {self.code}: " + ", ".join(f"{s} on {k}" for s, k in self.stages)


@dataclass
class Catalogue:
    """Profiles by key and configurations by workflow, built once per fleet."""

    profiles: dict[str, InstanceProfile] = field(default_factory=dict)
    configs: dict[str, list[Config]] = field(default_factory=dict)
    considered: dict[str, int] = field(default_factory=dict)
    # (accuracy, end-to-end latency s) of every configuration considered, before pruning.
    all_latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    all_accuracies: dict[str, list[float]] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)


def serving_workflows(catalog: Catalog) -> tuple[str, ...]:
    """Workflows serving mode can plan: a shape and at least one accuracy row."""
    have = {q.workflow for q in catalog.workflow_quality()}
    return tuple(sorted(w for w in SHAPES if w in have))


def fleet_hardware(catalog: Catalog) -> tuple[str, ...]:
    """Hardware types a fleet may provision: every type of a named cluster except this
    machine's (a fleet is cloud capacity, priced per unit-hour)."""
    names = {n.hardware for c in catalog.clusters() if c.name != "local" for n in c.nodes}
    return tuple(sorted(h for h in names if catalog.hardware(h) is not None))


def llm_profiles(catalog: Catalog, model: str, hardware: tuple[str, ...]) -> list[InstanceProfile]:
    """Instance profiles of ``model``: each curve on allowed hardware at each operating
    point, and its API endpoint if the catalog has one."""
    out = []
    for m, hw_name, tp in catalog.llm_curve_keys():
        if m != model or hw_name not in hardware:
            continue
        hw = catalog.hardware(hw_name)
        assert hw is not None
        out.extend(_curve_profiles(catalog.llm_curve(m, hw_name, tp), hw, power_curve(catalog, hw, tp)))
    for api in catalog.llm_apis():
        if api.model == model:
            out.append(InstanceProfile(
                f"{model} API", "api", model, "", 0, False, api.rate_limit_tps, 0.0, 0.0, 0.0,
                usd_per_work=api.usd_per_mtok / 1e6, max_instances=1, ttft_s=api.ttft_s, tpot_s=api.tpot_s,
                source=api.source))
    return out


def power_curve(catalog: Catalog, hw: Hardware, units: int) -> tuple[tuple[tuple[float, float], ...], str]:
    """An LLM instance's power on ``units`` x ``hw`` against its load: (share of the top
    throughput, watts) from (0, the GPUs' idle power), and where it comes from. The
    catalog's measured curve of the same hardware if it has one, else of the nearest
    unit count (ties: the larger), read as fractions of the GPUs' active power and of the
    measured top throughput; OSDI's load curves carry no power, so a model is taken to
    draw what the measured model draws at the same share of its own saturation. No
    measured curve: linear from idle to the active power at saturation."""
    idle, active = units * hw.idle_w, units * hw.active_w
    curves = [(k, pts) for k, pts in sorted(catalog.serving_power().items()) if len(pts) >= 2
              and catalog.hardware(k[1]) is not None]
    if not curves or active <= 0:
        return ((0.0, idle), (1.0, active)), "linear from the GPUs' idle to their active power (no measured curve)"

    def nearness(item: tuple[tuple[str, str, int], tuple[Any, ...]]) -> tuple[bool, float, int]:
        (_, hardware, n), _ = item
        return hardware != hw.name, abs(math.log2(n / units)), -n

    (model, hardware, n), points = min(curves, key=nearness)
    board = n * catalog.hardware(hardware).active_w  # type: ignore[union-attr]
    top = points[-1].output_tps
    curve = ((0.0, idle),) + tuple((p.output_tps / top, active * p.watts / board) for p in points)
    said = (f"power: measured {model} on {n} x {hardware} at {len(points)} loads, as fractions of its "
            f"GPUs' active power and top throughput ({points[0].source})")
    return curve, said


def held_and_busy(curve: tuple[tuple[float, float], ...], saturation: float) -> tuple[float, float]:
    """The planner's linear power model from a measured curve: the least-squares line
    through the measured points (not the idle point: a planned instance serves), as
    watts per instance held and joules per unit of work."""
    measured = curve[1:] if len(curve) > 2 else curve
    xs, ys = [x for x, _ in measured], [w for _, w in measured]
    slope, held = np.polyfit(xs, ys, 1) if len(set(xs)) > 1 else (0.0, ys[0])
    slope = max(0.0, float(slope))
    held = max(curve[0][1], float(held))
    return held, slope / saturation if saturation > 0 else 0.0


def _curve_profiles(curve: tuple[CurvePoint, ...], hw: Hardware, power: tuple[tuple[tuple[float, float], ...], str]
                    ) -> list[InstanceProfile]:
    lo, hi = curve[0], curve[-1]
    watts, said = power
    held, busy = held_and_busy(watts, hi.offered_tps)
    out = []
    for frac in OPERATING_POINTS:
        tps = lo.offered_tps + frac * (hi.offered_tps - lo.offered_tps)
        tpot = float(np.interp(tps, [p.offered_tps for p in curve], [p.tpot_s for p in curve]))
        units = lo.tp
        out.append(InstanceProfile(
            key=f"{lo.model} {hw.name} x{units} @{tps:.0f} tok/s",
            kind="llm", model=lo.model, hardware=hw.name, units=units, gpu=hw.is_gpu, capacity=tps,
            held_w=held, busy_j_per_work=busy,
            usd_per_hour=units * hw.usd_per_hour, ttft_s=lo.ttft_s, tpot_s=tpot,
            load=tps / hi.offered_tps, source=f"{lo.source}; {said}", power=watts))
    return out


def tool_profiles(catalog: Catalog, stage: ToolStage, request: Request, features: dict[str, str],
                  hardware: tuple[str, ...]) -> list[tuple[InstanceProfile, float, float]]:
    """(profile, busy seconds per request, relative quality) for the agents of the
    stage's interface on allowed hardware that no other beats on seconds, energy, cost
    and quality per request. Relative quality is the agent's over the best agent's of
    the interface (the job planner's rule for steps outside an accuracy profile)."""
    calls = stage.calls(request, features)
    media = stage.media_s(request, features)
    fps_stat = catalog.statistic("video_fps")  # a request's video is at the catalog's frame rate
    fps = fps_stat.value if fps_stat is not None else 0.0
    agents = catalog.agents(stage.interface)
    best = max((a.quality for a in agents), default=1.0)
    found: list[tuple[InstanceProfile, float, float, float]] = []
    for agent in agents:
        for p in catalog.profile_options(agent.name):
            hw = catalog.hardware(p.hardware)
            if hw is None or p.hardware not in hardware:
                continue
            seconds = calls * p.per_item_s + p.per_media_s * media * p.fps_scale(fps)
            busy_w = p.units * (hw.idle_w + p.utilisation * (hw.active_w - hw.idle_w))
            prof = InstanceProfile(
                key=f"{agent.name} {hw.name} x{p.units}", kind="tool", model=agent.name, hardware=hw.name,
                units=p.units, gpu=hw.is_gpu, capacity=1.0, held_w=p.units * hw.idle_w,
                busy_j_per_work=busy_w - p.units * hw.idle_w, usd_per_hour=p.units * hw.usd_per_hour,
                source=p.source)
            found.append((prof, seconds, seconds * busy_w, agent.quality / best))
    # Pareto over (seconds, energy, cost, -quality) per request across all hardware: a
    # slower, hungrier, dearer and no better option is never worth routing to.
    marks = [(s, j, prof.usd_per_hour * s / 3600, -q) for prof, s, j, q in found]
    kept = [(prof, s, q) for (prof, s, _, q), mine in zip(found, marks)
            if not any(all(x <= y for x, y in zip(theirs, mine)) and theirs != mine for theirs in marks)]
    # One per (hardware, seconds, quality): equal twins (interpolated unit counts) add nothing.
    unique: dict[tuple[str, float, float], tuple[InstanceProfile, float, float]] = {}
    for prof, s, q in sorted(kept, key=lambda t: t[0].key):
        unique.setdefault((prof.hardware, round(s, 9), q), (prof, s, q))
    return list(unique.values())


def token_model(catalog: Catalog, workflow: str) -> Callable[[str, dict[str, str]], tuple[float, str]]:
    """Completion tokens per request for (model, features): the catalog row, or the fit
    ``log tokens = a_model + b_config`` (alternating means over the workflow's rows; a
    debate config without a row scales a known one by its calls D x R)."""
    rows = catalog.workflow_tokens(workflow)
    keys = sorted({k for r in rows for k in parse_config(r.config)})
    obs = {(r.model, tuple(parse_config(r.config).get(k, "") for k in keys)): math.log(r.tokens) for r in rows}
    a: dict[str, float] = {m: 0.0 for m, _ in obs}
    b: dict[tuple[str, ...], float] = {c: 0.0 for _, c in obs}
    for _ in range(50):
        for c in b:
            vals = [v - a[m] for (m, cc), v in obs.items() if cc == c]
            b[c] = sum(vals) / len(vals)
        for m in a:
            vals = [v - b[c] for (mm, c), v in obs.items() if mm == m]
            a[m] = sum(vals) / len(vals)

    def tokens(model: str, features: dict[str, str]) -> tuple[float, str]:
        c = tuple(features.get(k, "") for k in keys)
        if (model, c) in obs:
            return math.exp(obs[(model, c)]), "published"
        am = a.get(model, sum(a.values()) / len(a) if a else 0.0)
        if c in b:
            bc = b[c]
        elif "D" in keys and "R" in keys and b:
            ref = max(b, key=lambda cc: (b[cc], cc))
            ref_calls = int(ref[keys.index("D")]) * int(ref[keys.index("R")])
            bc = b[ref] + math.log(int(features.get("D", "4")) * int(features.get("R", "2")) / ref_calls)
        else:
            bc = sum(b.values()) / len(b) if b else math.log(128.0)
        return math.exp(am + bc), "derived: fit a_model x b_config over the workflow's token rows"

    return tokens


def build(catalog: Catalog, workflows: dict[str, Request], hardware: tuple[str, ...]) -> Catalogue:
    """Profiles and configurations of each workflow, dominated configurations pruned."""
    out = Catalogue()
    for workflow, request in workflows.items():
        shape = SHAPES[workflow]
        tokens_of = token_model(catalog, workflow)
        configs: list[Config] = []
        rows = catalog.workflow_quality(workflow)
        out.all_accuracies[workflow] = [q.value for q in rows]
        for q in rows:
            features = parse_config(q.config)
            llms = llm_profiles(catalog, q.model, hardware)
            if not llms:
                out.skipped.setdefault(workflow, []).append(
                    f"{q.model} {q.config}: no load curve on {', '.join(hardware)} and no API row")
                continue
            tokens, tsource = tokens_of(q.model, features)
            stages = [s for s in shape.tools if s.when(features)]
            options = [tool_profiles(catalog, s, request, features, hardware) for s in stages]
            if any(not o for o in options):
                missing = [s.interface for s, o in zip(stages, options) if not o]
                out.skipped.setdefault(workflow, []).append(
                    f"{q.model} {q.config}: no agent for {', '.join(missing)} on the fleet's hardware")
                continue
            bundles = tool_bundles(stages, options)
            for llm in llms:
                out.profiles[llm.key] = llm
                for picks in bundles:
                    for prof, _, _ in picks:
                        out.profiles[prof.key] = prof
                    configs.append(_config(shape, q.model, q.config, q.value, features, tokens, tsource, llm,
                                           request.token_tail,
                                           list(zip(stages, picks))))
        out.considered[workflow] = len(configs)
        out.all_latencies[workflow] = [(c.accuracy, c.latency_s) for c in configs]
        out.configs[workflow] = prune(configs)
    used = {k for cs in out.configs.values() for c in cs for k, _ in c.work}
    out.profiles = {k: p for k, p in sorted(out.profiles.items()) if k in used}
    return out


# Tool bundles kept per configuration: for each of this many caps on the tools' share of
# the latency, the bundle with the least energy, the least cost, the fewest GPU-seconds
# and the best quality under the cap, among all bundles and among the best tools' only.
BUNDLE_LEVELS = 6

Pick = tuple[InstanceProfile, float, float]


def tool_bundles(stages: list[ToolStage], options: list[list[Pick]]) -> list[tuple[Pick, ...]]:
    """A few tool placements (one option per stage) spanning the trade-off between the
    tools' latency and their energy, cost, GPU time and quality. The tools' latency is
    the critical path of the tool stages alone: the LLM runs before or after all of them
    in both shapes, so a request's latency is this plus the LLM's."""
    if not stages:
        return [()]
    combos = list(itertools.product(*options))
    after = {s.name: s.after for s in stages}

    def marks(picks: tuple[Pick, ...]) -> tuple[float, float, float, float, float]:
        secs = {s.name: sec for s, (_, sec, _) in zip(stages, picks)}
        finish: dict[str, float] = {}

        def done(n: str) -> float:
            if n not in finish:
                finish[n] = secs[n] + max((done(d) for d in after[n] if d in secs), default=0.0)
            return finish[n]

        latency = max(done(n) for n in secs)
        energy = sum(sec * (p.held_w + p.busy_j_per_work) for p, sec, _ in picks)
        cost = sum(sec * p.usd_per_hour for p, sec, _ in picks)
        gpu_s = sum(sec * p.units for p, sec, _ in picks if p.gpu)
        return latency, energy, cost, gpu_s, -math.prod(q for _, _, q in picks)

    scored = [(marks(c), c) for c in combos]
    levels = sorted({round(float(x), 9) for x in np.quantile([m[0] for m, _ in scored],
                                                                np.linspace(0, 1, BUNDLE_LEVELS))})
    best_q = min(m[4] for m, _ in scored)
    chosen: dict[int, tuple[Pick, ...]] = {}
    for cap in levels:
        under = [(m, c) for m, c in scored if m[0] <= cap + 1e-9]
        # From all bundles and from those of the best tools only (a quality SLO may need
        # them): the least energy, cost and GPU time, and the best quality.
        for pool in (under, [(m, c) for m, c in under if m[4] <= best_q + 1e-12]):
            for k in (1, 2, 3, 4):
                if pool:
                    m, c = min(pool, key=lambda mc: (mc[0][k], mc[0]))
                    chosen.setdefault(id(c), c)
    return list(chosen.values())


def _config(shape: ServingShape, model: str, code: str, accuracy: float, features: dict[str, str],
            tokens: float, tsource: str, llm: InstanceProfile, tail: float,
            tools: list[tuple[ToolStage, tuple[InstanceProfile, float, float]]]) -> Config:
    calls, rounds = shape.calls_per_round(features), shape.rounds(features)
    per_call = tokens * tail / (calls * rounds)  # latency at the tail's token load
    # Debaters of a round run in parallel on the shared instance; rounds run in sequence.
    llm_s = rounds * (llm.ttft_s + per_call * llm.tpot_s)
    seconds = {s.name: sec for s, (_, sec, _) in tools}
    after = {s.name: s.after for s, _ in tools}
    after["llm"] = shape.llm_after
    finish: dict[str, float] = {}

    def done(name: str) -> float:
        if name not in finish:
            own = llm_s if name == "llm" else seconds[name]
            finish[name] = own + max((done(d) for d in after[name] if d in after), default=0.0)
        return finish[name]

    latency = max(done(n) for n in after)
    work: dict[str, float] = {llm.key: tokens}
    for _, (prof, sec, _) in tools:
        work[prof.key] = work.get(prof.key, 0.0) + sec
    stages = (("llm", llm.key),) + tuple((s.name, p.key) for s, (p, _, _) in tools)
    accuracy *= math.prod(q for _, (_, _, q) in tools)
    return Config(shape.workflow, model, code, accuracy, latency, tokens, tsource, tuple(sorted(work.items())), stages)


def prune(configs: list[Config]) -> list[Config]:
    """Drop a configuration when another on the same profiles is at least as accurate,
    at least as fast and asks no more work of any of them (strictly better somewhere)."""
    groups: dict[tuple[str, ...], list[Config]] = {}
    for c in configs:
        groups.setdefault(tuple(k for k, _ in c.work), []).append(c)
    kept = []
    for group in groups.values():
        for i, c in enumerate(group):
            cw = [w for _, w in c.work]
            dominated = False
            for j, o in enumerate(group):
                if j == i:
                    continue
                ow = [w for _, w in o.work]
                no_worse = o.accuracy >= c.accuracy and o.latency_s <= c.latency_s and all(
                    x <= y for x, y in zip(ow, cw))
                better = o.accuracy > c.accuracy or o.latency_s < c.latency_s or any(x < y for x, y in zip(ow, cw))
                # Of equal twins the first is kept.
                if no_worse and (better or j < i):
                    dominated = True
                    break
            if not dominated:
                kept.append(c)
    return sorted(kept, key=lambda c: (c.model, c.code, c.stages))
