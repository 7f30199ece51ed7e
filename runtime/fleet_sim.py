"""Serving over time: replay request arrivals through a fleet policy, epoch by epoch.

A discrete-event simulation (a heap of timed events, no framework) of the OSDI '26
serving loop, on the same profiles and configurations as ``PLAN FLEET``:

* **Requests** arrive as in the trace (or Poisson at a fixed rate); each asks for one of
  its workflow's SLOs by the mix's shares and is routed to a configuration by the
  current plan's fractions (seeded). Its stages run in DAG order (``SHAPES``); a
  stage's tokens are the configuration's, times the request's GeneratedTokens over the
  trace's mean (the trace's variability, the profile's mean).
* **LLM instances** batch: an instance serves at most its saturation throughput, and a
  call takes at least TTFT + tokens x TPOT at the instance's current load (its load
  curve, interpolated). A call finishes at the later of that and the time the
  instance's backlog of tokens clears at saturation throughput: latency-bound when
  light, throughput-bound (queueing) when overloaded. **Tool instances** serve one
  request's stage at a time, first come first served. A stage goes to the instance
  that frees first.
* **Epochs**: every ``epoch_s`` the policy re-plans for an EWMA forecast (alpha 0.5) of
  the load (``forecast``): ``"windows"`` forecasts each window of the epoch from the
  same window of the last (so shared instances are sized for the peak of the combined
  stream, assuming the workflows' bursts fall as they fell); ``"peaks"`` forecasts each
  workflow's peak and mean rate, as OSDI does, and the plan is sized for the sum of the
  peaks (no multiplexing is assumed). Each window is planned at no less than one
  request, so a workflow forecast at no load keeps instances. Instances a plan adds are
  ready ``provision_s`` later, and the change is made before break: the instances the
  plan drops serve until then, and a request whose configuration has a profile with no
  instance ready yet is routed by the previous plan. A joint re-plan is told the fleet
  it holds: the MILP charges an instance it drops the share of the epoch it stays held
  (``provision_s`` / ``epoch_s``), so a swap must save more than that. The first epoch
  is planned on its own load (as if forecast from the day before). A window whose rate exceeds the forecast
  (its window's, or the peak) by more than ``deviation`` re-plans early, at most once per
  ``replan_gap_s``. A request stays on the instances it was routed to: a profile a plan
  drops keeps its last instances until the requests routed to it are done.
* **Auto-scaler**: every ``window_s``, a profile whose instances were busier than
  ``high`` of their capacity gets instances (ready ``scale_delay_s`` later); one below
  ``low`` loses the extra ones, never going under the plan (or under one instance, for
  the static policy). With ``floor`` "forecast", a planned policy's floor follows the
  forecast within the epoch instead: each window, what the forecast load of that window
  and the next (a new instance takes ``scale_delay_s``) needs of each profile under the
  plan's routing, with the 1.15 buffer, at most the plan's count; a profile under it gets
  instances then. The plan is still sized for the epoch's peak window.
* **Budgets** bind the joint policy all the time, not only its plans: the auto-scaler
  adds an instance only while the instances held (those a re-plan dropped and still
  holds included) stay within the statement's GPU (or core) budget of its type and, with
  a cost budget, within that budget per hour less what the plan routes to per-token API
  endpoints at the forecast's mean load; a re-plan's switch fits the GPU budgets
  (``compiler/fleet/solve.py``) beside the instances earlier plans dropped that are
  still held (until they retire and drain). Windows in which the budgets held the auto-scaler back
  are counted (``budget_capped``). The per-pair policy's auto-scaler is held back the
  same way, but its plans are each within the budgets alone and may together be over
  them (a note says so, as its EXPLAIN baseline does). The static baselines are
  hand-built deployments and ignore the budgets, as their plans do.

Reports per policy and per workflow: GPU-hours, energy, cost, p50 / p99 end-to-end
latency, SLO attainment (the request's latency SLO met by its latency, its quality SLO
by its configuration), the GPUs provisioned over time, and the most units of each
hardware type held at once.

The same engine also replays a trace slice through what ``murakkab serve`` deploys on
this machine (:func:`simulate_served`: a ``runtime/serve.ServePlan``, its replicas running
the offline stand-in agents, their stage seconds measured here by :func:`measure_stages`),
so that the simulator's queueing and routing can be checked against a real Ray Serve
deployment (``bench/serving.py --compare-real``).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..compiler.fleet.bind import BoundFleet
from ..compiler.fleet.explain import ratio
from ..compiler.fleet.plan import pairs_of, published_quality_tiers, static_config, tiers_of
from ..compiler.fleet.solve import Demand, Infeasible, Pair, Problem, Solution, SolveTimeout, instances_for, solve
from ..compiler.fleet.traces import arrivals as trace_arrivals
from ..catalog.catalog import Catalog
from ..compiler.fleet.workload import SHAPES, Catalogue, Config, InstanceProfile, build
from ..compiler.physical.accuracy import parse_config
from ..grammar.diagnostics import MurakkabError
from .serve import Option, ServePlan, pick_option, pick_route

POLICIES = ("static", "static+autoscale", "per-pair", "joint")
FORECASTS = ("windows", "peaks")
# What the auto-scaler keeps of a planned fleet (per-pair and joint): the plan's count all
# epoch, or what each window's forecast load needs of it (the module docstring says more).
FLOORS = ("plan", "forecast")
_ARRIVE, _DONE = 0, 1


@dataclass(frozen=True)
class Arrival:
    t: float
    workflow: str
    scale: float  # the request's tokens over its trace's mean


# Bounds on one replay, so that a typo in a flag is an error, not hours of work or all of
# memory: requests held at once, load windows counted, and MILPs solved per policy.
MAX_REQUESTS = 5_000_000
MAX_WINDOWS = 1_000_000
MAX_EPOCHS = 2_000


@dataclass(frozen=True)
class SimSettings:
    epoch_s: float = 3600.0
    provision_s: float = 1200.0
    alpha: float = 0.5
    window_s: float = 60.0
    autoscale: bool = True
    scale_delay_s: float = 60.0
    high: float = 0.9
    low: float = 0.3
    deviation: float = 0.5
    replan_gap_s: float = 600.0  # no early re-plan sooner than this after the last plan
    seed: int = 0
    time_limit_s: float = 30.0
    forecast: str = "windows"  # one of FORECASTS (the module docstring says how each plans)
    floor: str = "plan"  # one of FLOORS: what the auto-scaler keeps of a planned fleet


def arrivals(fleet: BoundFleet, stretch: int = 1, seed: int = 0, duration_s: float | None = None) -> list[Arrival]:
    """Every request of the fleet's workflows, by time. A trace is replayed as it is;
    ``stretch`` k makes an hour into k hours at the same rate (each request becomes k,
    spread uniformly over its stretched second). A fixed rate is a seeded Poisson stream
    over ``duration_s`` (default: the traces' span, else one hour)."""
    rng = random.Random(seed)
    out: list[Arrival] = []
    spans = []
    for item in fleet.items:
        if item.trace is not None:
            times, tokens = trace_arrivals(item.trace, item.time_column, item.token_column)
            mean = float(np.mean(tokens)) if tokens else 1.0
            for t, n in zip(times, tokens):
                for k in range(stretch):
                    out.append(Arrival(t * stretch + rng.random() * stretch, item.workflow,
                                       n / mean if mean > 0 else 1.0))
            spans.append((times[-1] + 1.0) * stretch if times else 0.0)  # its last second, stretched
    horizon = duration_s or (max(spans) if spans else 3600.0 * stretch)
    expected = len(out) + horizon * sum(i.demand.mean for i in fleet.items if i.trace is None)
    if expected > MAX_REQUESTS:
        raise MurakkabError(f"the replay would hold about {expected:,.0f} requests ({horizon / 3600:,.1f} h); "
                            f"at most {MAX_REQUESTS:,} are simulated",
                            hint="a shorter --duration, a smaller --stretch, or a lower rate")
    for item in fleet.items:
        if item.trace is None:
            rate, t = item.demand.mean, 0.0
            while rate > 0:
                t += rng.expovariate(rate)
                if t >= horizon:
                    break
                out.append(Arrival(t, item.workflow, 1.0))
    out.sort(key=lambda a: (a.t, a.workflow))
    return [a for a in out if a.t < horizon]


@dataclass
class _Instance:
    ready: float
    free: float = 0.0  # tool: when its current stage ends; LLM: when its token backlog clears
    retire: float = math.inf  # a plan dropped it: it serves until then (make before break)


@dataclass
class _Pool:
    profile: InstanceProfile
    instances: list[_Instance] = field(default_factory=list)
    work_window: float = 0.0
    work_total: float = 0.0
    work_interval: float = 0.0  # since the last accounting (see FleetSimulator.usage)
    floor: int = 0  # the auto-scaler never removes below this
    # With SimSettings.floor "forecast": instances each window of the epoch needs for its
    # forecast load (from window ``floors_from`` on); the floor follows them.
    floors: list[int] = field(default_factory=list)
    floors_from: int = 0
    # (time it can start new work, index, instance): the next free instance in O(log n).
    heap: list[tuple[float, int, _Instance]] = field(default_factory=list)
    first_ready: float = math.inf  # when its first instance is (or was) ready

    def active(self, now: float) -> int:
        return sum(1 for i in self.instances if i.ready <= now)

    def live(self) -> list[_Instance]:
        """The instances no plan has dropped (a dropped one serves until it retires)."""
        return [i for i in self.instances if i.retire == math.inf]

    def reset(self, instances: list[_Instance]) -> None:
        self.instances = instances
        self.heap = [(max(i.free, i.ready), n, i) for n, i in enumerate(instances)]
        heapq.heapify(self.heap)
        self.first_ready = min((i.ready for i in instances), default=math.inf)


@dataclass
class WorkflowStats:
    latencies: list[float] = field(default_factory=list)
    met: int = 0

    def summary(self) -> dict[str, float]:
        lat = np.array(self.latencies) if self.latencies else np.array([math.nan])
        return {"requests": len(self.latencies), "p50_s": float(np.percentile(lat, 50)),
                "p99_s": float(np.percentile(lat, 99)),
                "slo_attainment": self.met / len(self.latencies) if self.latencies else math.nan}


@dataclass
class PolicyResult:
    policy: str
    gpu_hours: float
    energy_kwh: float
    cost_usd: float
    workflows: dict[str, dict[str, float]]
    overall: dict[str, float]
    gpus_over_time: list[tuple[float, int]]
    replans: int
    events: int
    notes: list[str]
    # The most GPUs any one plan provisioned (without the auto-scaler's additions and
    # the instances a re-plan keeps until its new ones are ready).
    largest_plan_gpus: int = 0
    # The most units (GPUs or cores) of each hardware type held at once, and the windows
    # in which the statement's budgets held the auto-scaler back.
    peak_units: dict[str, int] = field(default_factory=dict)
    budget_capped: int = 0
    # (seconds, profile, instances held, work started in them) per accounting interval:
    # what :func:`metered_kwh` re-meters under another power model. Not in ``to_dict``.
    usage: list[tuple[float, InstanceProfile, int, float]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, object]:
        return {"policy": self.policy, "gpu_hours": self.gpu_hours, "energy_kwh": self.energy_kwh,
                "cost_usd": self.cost_usd, "overall": self.overall, "workflows": self.workflows,
                "replans": self.replans, "events": self.events, "notes": self.notes,
                "largest_plan_gpus": self.largest_plan_gpus, "peak_units": self.peak_units,
                "budget_capped": self.budget_capped,
                "gpus_over_time": [[t, g] for t, g in self.gpus_over_time]}


class FleetSimulator:
    """One policy over one arrival stream (see the module docstring)."""

    def __init__(self, fleet: BoundFleet, catalog: Catalog, policy: str, settings: SimSettings = SimSettings(),
                 catalogue: Catalogue | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}: one of {', '.join(POLICIES)}")
        if settings.forecast not in FORECASTS:
            raise ValueError(f"unknown forecast {settings.forecast!r}: one of {', '.join(FORECASTS)}")
        if settings.floor not in FLOORS:
            raise ValueError(f"unknown floor {settings.floor!r}: one of {', '.join(FLOORS)}")
        self.fleet, self.policy, self.s = fleet, policy, settings
        self.catalogue = catalogue or build(catalog, {i.workflow: i.request for i in fleet.items}, fleet.hardware)
        tiers = {i.workflow: tiers_of(self.catalogue, i.workflow, published_quality_tiers(catalog, i.workflow),
                                      fleet.settings.quality_floor) for i in fleet.items}
        self.pairs = pairs_of(fleet, tiers)
        self.rng = random.Random(settings.seed)
        self.pools: dict[str, _Pool] = {}
        self.routing: dict[int, tuple[list[Config], list[float]]] = {}
        # Earlier plans' routings (newest first), used until the current plan's instances
        # are ready (``fallback_until``).
        self.previous: list[dict[int, tuple[list[Config], list[float]]]] = []
        self.fallback_until = -math.inf
        self.notes: list[str] = []
        self.replans = 0
        self.largest_plan_gpus = 0
        self.peak_units: dict[str, int] = {}
        self.budget_capped = 0
        self.capped_now = False  # this window, the budgets held the auto-scaler back
        # What the instances held may cost per hour (the cost budget less the plan's
        # per-token API charges); None: no cost budget binds this policy.
        self.held_budget: float | None = None
        self.budgeted = policy in ("per-pair", "joint")
        self.usage: list[tuple[float, InstanceProfile, int, float]] = []
        # Requests routed to a configuration on each profile and not yet finished: a
        # dropped pool drains them before its last instance leaves.
        self.in_flight: dict[str, int] = {}
        self._work_cache: dict[int, tuple[dict[str, float], int, int]] = {}
        self._names_cache: dict[int, dict[str, str]] = {}
        self._graph_cache: dict[int, tuple[list[str], dict[str, list[str]], dict[str, int]]] = {}

    # -- planning ------------------------------------------------------------------
    def _demands(self, rates: dict[str, list[float]]) -> dict[str, Demand]:
        """The forecast as the solver's demand: every workflow over the same windows, each
        window at least one request (a workflow forecast at no load would otherwise be
        routed anywhere, at no cost, and find no instance when its requests come)."""
        n = max(len(r) for r in rates.values())
        least = 1.0 / self.s.window_s
        return {w: Demand(w, tuple(max(least, x) for x in (r + [r[-1] if r else 0.0] * n)[:n]), self.s.window_s,
                          "forecast") for w, r in rates.items()}

    def _plan(self, rates: dict[str, list[float]]) -> tuple[dict[str, int], dict[int, list[tuple[Config, float]]]]:
        demands = self._demands(rates)
        objectives = self.fleet.objectives
        budgets = dict(self.fleet.budgets)
        if self.policy in ("static", "static+autoscale"):
            instances: dict[str, int] = {}
            routing: dict[int, list[tuple[Config, float]]] = {}
            problem = Problem(self.pairs, demands, self.catalogue)
            for pi, pair in enumerate(self.pairs):
                config = static_config(problem, pair.workflow)
                if config is None:
                    raise Infeasible([f"{pair.workflow}: no static configuration (Gemma-3-27B on A100 x4)"])
                routing[pi] = [(config, 1.0)]
            for w, d in demands.items():
                config = routing[next(pi for pi, p in enumerate(self.pairs) if p.workflow == w)][0][0]
                for key, work in config.work:
                    prof = self.catalogue.profiles[key]
                    instances[key] = instances.get(key, 0) + max(1, instances_for(d.peak * work, prof.capacity))
            return instances, routing
        if self.policy == "joint":
            # A re-plan knows the fleet it holds: an instance it drops stays held until the
            # new plan's are ready (make before break), which the MILP charges.
            current = {k: n for k, pool in self.pools.items() if (n := len(pool.live()))}
            # Instances an earlier plan dropped stay held until they retire (and drain): the
            # switch fits in what they leave of each GPU budget.
            leaving = self._units({k: len(pool.instances) - current.get(k, 0) for k, pool in self.pools.items()})
            budgets = {hw: b - leaving.get(hw, 0) for hw, b in budgets.items()}
            sol = solve(Problem(self.pairs, demands, self.catalogue, objectives, budgets, self.fleet.cost_budget,
                                time_limit_s=self.s.time_limit_s, ties=self.fleet.ties, current=current,
                                drop_share=min(1.0, self.s.provision_s / self.s.epoch_s)))
            return sol.instances, sol.routing
        instances, routing = {}, {}
        for pi, pair in enumerate(self.pairs):
            d = demands[pair.workflow]
            alone = Problem((Pair(pair.workflow, pair.label, 1.0, pair.min_accuracy, pair.max_latency_s),),
                            {pair.workflow: Demand(pair.workflow, tuple(r * pair.share for r in d.rates), d.window_s,
                                                   "forecast")}, self.catalogue, objectives, budgets,
                            self.fleet.cost_budget, time_limit_s=self.s.time_limit_s, ties=self.fleet.ties)
            sol: Solution = solve(alone)
            for k, n in sol.instances.items():
                instances[k] = instances.get(k, 0) + n
            routing[pi] = sol.routing[0]
        used = self._units(instances)
        over = [f"{hw} {used.get(hw, 0):g} > {b:g}" for hw, b in self.fleet.budgets if used.get(hw, 0) > b]
        if over:
            self.notes.append("the pairs' plans, each within the budgets alone, are together over them: "
                              + ", ".join(over))
        return instances, routing

    def _apply(self, instances: dict[str, int], routing: dict[int, list[tuple[Config, float]]], now: float,
               delay: float) -> None:
        """Make the plan current. With a provisioning ``delay``, make before break: new
        instances are ready ``delay`` later, the ones the plan drops serve until then, and
        until then a request whose configuration has a profile with no instance ready
        yet is routed by the previous plan (:meth:`_route`)."""
        planned = sum(n * self.catalogue.profiles[k].gpus() for k, n in instances.items())
        self.largest_plan_gpus = max(self.largest_plan_gpus, planned)
        for key, n in instances.items():
            pool = self.pools.setdefault(key, _Pool(self.catalogue.profiles[key]))
            live = pool.live()
            if n > len(live):
                # Instances on their way out serve again before new ones are provisioned.
                back = sorted((i for i in pool.instances if i.retire < math.inf), key=lambda i: i.ready)
                back = back[:n - len(live)]
                for i in back:
                    i.retire = math.inf
                pool.reset(pool.instances + [_Instance(now + delay) for _ in range(n - len(live) - len(back))])
            elif n < len(live):
                if delay > 0:  # the least busy go once the new plan's instances are ready
                    for i in sorted(live, key=lambda i: i.free)[:len(live) - n]:
                        i.retire = now + delay
                else:  # the busiest instances stay; the rest go now
                    pool.reset(sorted(live, key=lambda i: -i.free)[:n])
            pool.floor = n if self.policy != "static+autoscale" else 1
        for key, pool in self.pools.items():
            if key not in instances:
                if delay > 0:
                    for i in pool.instances:
                        i.retire = min(i.retire, now + delay)
                else:
                    pool.reset([])
                pool.floor = 0
        if delay > 0:
            # Plans made while an earlier one is still provisioned stack up: a request
            # takes the newest whose configuration has its instances ready.
            if now >= self.fallback_until:
                self.previous = []
            self.previous.insert(0, self.routing)
            self.fallback_until = now + delay
        self.routing = {}
        for pi, r in routing.items():
            # A share the solver left at round-off on a profile with no instance is dropped.
            kept = [(c, x) for c, x in r if all(instances.get(k, 0) > 0 for k, _ in c.work)] or r
            total = sum(x for _, x in kept)
            self.routing[pi] = ([c for c, _ in kept], [x / total for _, x in kept])

    def _route(self, pi: int, now: float) -> Config:
        """The configuration of a request of pair ``pi`` arriving ``now``: by the current
        plan, or, while its instances are provisioned, by the newest earlier plan whose
        configuration has its instances ready (else the current one's, which waits)."""
        configs, fractions = self.routing[pi]
        config = configs[_pick(self.rng, list(enumerate(fractions)))]
        if now < self.fallback_until and not self._ready(config, now):
            for routing in self.previous:
                if pi in routing:
                    configs, fractions = routing[pi]
                    older = configs[_pick(self.rng, list(enumerate(fractions)))]
                    if self._ready(older, now):
                        return older
        return config

    def _ready(self, config: Config, now: float) -> bool:
        """Every profile of ``config`` has an instance ready at ``now``."""
        for key, _ in config.work:
            pool = self.pools.get(key)
            if pool is None or pool.first_ready > now:
                return False
        return True

    def _retire(self, t: float) -> None:
        """Instances a plan dropped leave once their time comes, but the last ones of a
        profile stay while requests routed to it are in flight (a later stage of theirs,
        such as video Q&A's LLM after its tools, still needs them): drained, not cut."""
        for key, pool in self.pools.items():
            if any(i.retire <= t for i in pool.instances):
                stay = [i for i in pool.instances if i.retire > t]
                if stay or not self.in_flight.get(key):
                    pool.reset(stay)

    # -- serving ----------------------------------------------------------------------
    def _serve(self, key: str, now: float, work: float, rounds: int = 1, calls: int = 1) -> float:
        """Finish time of ``work`` (tokens or seconds) on the pool of ``key`` from ``now``;
        an LLM stage's tokens are ``rounds`` rounds of ``calls`` parallel calls."""
        pool = self.pools.get(key)
        if pool is None or not pool.instances:
            # The plan left this profile no instance (a workflow forecast at no load gets
            # none) and a request came: the auto-scaler's warm pool answers, if it runs.
            scaled = self.s.autoscale and self.policy != "static"
            delay = self.s.scale_delay_s if scaled else self.s.provision_s
            pool = self.pools.setdefault(key, _Pool(self.catalogue.profiles[key]))
            pool.reset([_Instance(now + delay)])
            self.notes.append(f"{key}: routed to with no instance; one {'scaled up' if scaled else 'provisioned'} "
                              f"at {now:.0f} s, ready {delay:.0f} s later")
        _, n, inst = heapq.heappop(pool.heap)
        start = max(now, inst.ready)
        prof = pool.profile
        pool.work_window += work
        pool.work_total += work
        pool.work_interval += work
        if prof.kind == "tool":
            finish = inst.free = _fifo_finish(inst, start, work)
        else:
            # A batching LLM instance: its backlog clears at saturation throughput; a call
            # is never faster than TTFT + tokens x TPOT at the profile's operating point.
            inst.free = max(inst.free, start) + work / prof.saturation
            finish = max(start + rounds * prof.ttft_s + work / calls * prof.tpot_s, inst.free)
        heapq.heappush(pool.heap, (max(inst.free, inst.ready), n, inst))
        return finish

    def run(self, stream: list[Arrival]) -> PolicyResult:
        s = self.s
        horizon = stream[-1].t if stream else 0.0
        workflows = sorted({i.workflow for i in self.fleet.items})
        nwin = int(horizon // s.window_s) + 1
        counts = {w: [0] * nwin for w in workflows}
        for a in stream:
            counts[a.workflow][int(a.t // s.window_s)] += 1
        per_epoch = max(1, int(round(s.epoch_s / s.window_s)))

        def rates(w: str, start: int, end: int) -> list[float]:
            return [c / s.window_s for c in counts[w][start:end]] or [0.0]

        forecast = {w: rates(w, 0, per_epoch) for w in workflows}
        if s.forecast == "peaks":  # with no earlier forecast: the first epoch's own peak and mean
            forecast = {w: self._forecast([], r, per_epoch) for w, r in forecast.items()}
        # static: a hand-built deployment sized for the whole trace's peak; the others
        # start from the first epoch's own load.
        first = {w: rates(w, 0, nwin) for w in workflows} if self.policy == "static" else forecast
        self._adopt(self._plan(first), first, now=0.0, delay=0.0, window=0)
        shares = {w: [(pi, p.share) for pi, p in enumerate(self.pairs) if p.workflow == w] for w in workflows}
        stats = {w: WorkflowStats() for w in workflows}
        totals = [0.0, 0.0, 0.0]  # GPU-seconds, joules, instance cost
        timeline: list[tuple[float, int]] = [(0.0, self._gpus())]
        self._held_units()
        next_window, next_epoch, epoch_start, last, planned_at = s.window_s, s.epoch_s, 0, 0.0, 0.0
        heap: list[tuple[float, int, int, int, str]] = [(a.t, i, _ARRIVE, i, "") for i, a in enumerate(stream)]
        heapq.heapify(heap)
        seq = len(stream)
        chosen: list[Config | None] = [None] * len(stream)
        pair_of = [0] * len(stream)
        finished = [0] * len(stream)  # stages done, per request
        end_at = [0.0] * len(stream)
        waiting: list[dict[str, int]] = [{} for _ in stream]  # predecessors left, per stage
        events = 0
        while heap:
            now, _, kind, ri, stage = heapq.heappop(heap)
            events += 1
            while now >= min(next_window, next_epoch):
                t = min(next_window, next_epoch)
                self._account(last, t, totals)
                last = t
                if t == next_window:
                    early = self._window(t, int(t // s.window_s) - 1, counts, forecast, epoch_start)
                    next_window += s.window_s
                    if (early and self.policy in ("per-pair", "joint") and t < next_epoch
                            and t - planned_at >= s.replan_gap_s):
                        self.notes.append(f"load left the forecast at {t:.0f} s: re-planned early")
                        next_epoch = t
                if t == next_epoch:
                    here = int(round(t / s.window_s))
                    if self.policy in ("per-pair", "joint") and t < horizon:  # not once arrivals end
                        observed = {w: rates(w, epoch_start, here) for w in workflows}
                        forecast = {w: self._forecast(forecast[w], observed[w], per_epoch) for w in workflows}
                        try:
                            self._adopt(self._plan(forecast), forecast, now=t, delay=s.provision_s, window=here)
                            self.replans += 1
                        except (Infeasible, SolveTimeout) as exc:
                            self.notes.append(f"re-plan at {t:.0f} s kept the fleet: {exc.message}")
                    epoch_start, next_epoch, planned_at = here, t + s.epoch_s, t
                timeline.append((t, self._gpus()))
                self._held_units()
            a = stream[ri]
            if kind == _ARRIVE:
                pi = _pick(self.rng, shares[a.workflow])
                chosen[ri], pair_of[ri] = self._route(pi, now), pi
                for key, _ in chosen[ri].work:
                    self.in_flight[key] = self.in_flight.get(key, 0) + 1
            config = chosen[ri]
            assert config is not None
            roots, succ, npred = self._graph(config)
            if kind == _ARRIVE:
                waiting[ri] = dict(npred)
                ready = roots
            else:  # a stage finished: its successors whose predecessors are all done start now
                finished[ri] += 1
                end_at[ri] = now
                if finished[ri] == len(npred):
                    latency = now - a.t
                    pair = self.pairs[pair_of[ri]]
                    st = stats[a.workflow]
                    st.latencies.append(latency)
                    st.met += latency <= pair.max_latency_s + 1e-9 and config.accuracy >= pair.min_accuracy - 1e-12
                    for key, _ in config.work:
                        self.in_flight[key] -= 1
                    continue
                left = waiting[ri]
                ready = []
                for nxt in succ[stage]:
                    left[nxt] -= 1
                    if left[nxt] == 0:
                        ready.append(nxt)
            names = self._names(config)
            for name in ready:
                finish = self._start(names[name], name, now, config, a)
                heapq.heappush(heap, (finish, seq, _DONE, ri, name))
                seq += 1
        end = max([last, *end_at])
        self._account(last, end, totals, final=True)
        timeline.append((end, self._gpus()))
        if self.budget_capped:
            self.notes.insert(0, f"the budgets held the auto-scaler back in {self.budget_capped:,} of "
                                 f"{nwin:,} windows")
        api_usd = sum(p.profile.usd_per_work * p.work_total for p in self.pools.values())
        every = WorkflowStats([x for st in stats.values() for x in st.latencies], sum(st.met for st in stats.values()))
        return PolicyResult(self.policy, totals[0] / 3600.0, totals[1] / 3.6e6, totals[2] + api_usd,
                            {w: st.summary() for w, st in stats.items()}, every.summary(), timeline,
                            self.replans, events, self.notes, self.largest_plan_gpus, self.peak_units,
                            self.budget_capped, self.usage)

    def _start(self, key: str, stage: str, now: float, config: Config, a: Arrival) -> float:
        seconds, rounds, calls = self._stage_work(config)
        if stage != "llm":
            return self._serve(key, now, seconds[stage])
        return self._serve(key, now, config.tokens * a.scale, rounds, calls)

    def _stage_work(self, config: Config) -> tuple[dict[str, float], int, int]:
        """Seconds per tool stage, and the LLM's rounds and calls per round (cached)."""
        found = self._work_cache.get(id(config))
        if found is None:
            work = dict(config.work)
            sharing = {k: sum(1 for _, kk in config.stages if kk == k) for _, k in config.stages}
            features = parse_config(config.code)
            shape = SHAPES[config.workflow]
            found = ({st: work[k] / sharing[k] for st, k in config.stages if st != "llm"},
                     shape.rounds(features), shape.calls_per_round(features))
            self._work_cache[id(config)] = found
        return found

    def _graph(self, config: Config) -> tuple[list[str], dict[str, list[str]], dict[str, int]]:
        """The configuration's stages as a DAG: those with no predecessor, the successors
        of each, and how many predecessors each has (cached)."""
        found = self._graph_cache.get(id(config))
        if found is None:
            names = self._names(config)
            after = self._after(config.workflow)
            preds = {n: [d for d in after.get(n, ()) if d in names] for n in names}
            succ: dict[str, list[str]] = {n: [] for n in names}
            for n, ds in preds.items():
                for d in ds:
                    succ[d].append(n)
            found = ([n for n in names if not preds[n]], succ, {n: len(ds) for n, ds in preds.items()})
            self._graph_cache[id(config)] = found
        return found

    def _names(self, config: Config) -> dict[str, str]:
        found = self._names_cache.get(id(config))
        if found is None:
            found = self._names_cache[id(config)] = dict(config.stages)
        return found

    def _after(self, workflow: str) -> dict[str, tuple[str, ...]]:
        shape = SHAPES[workflow]
        after = {t.name: t.after for t in shape.tools}
        after["llm"] = shape.llm_after
        return after

    def _gpus(self) -> int:
        return sum(len(p.instances) * p.profile.gpus() for p in self.pools.values())

    def _units(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Units (GPUs or cores) per hardware type of ``counts`` instances per profile."""
        out: dict[str, int] = {}
        for key, n in counts.items():
            prof = self.catalogue.profiles[key]
            if prof.units and n:
                out[prof.hardware] = out.get(prof.hardware, 0) + n * prof.units
        return out

    def _held_units(self) -> dict[str, int]:
        """Units held now per hardware type (retiring instances included), kept in
        ``peak_units`` where it is the most so far."""
        held = self._units({k: len(p.instances) for k, p in self.pools.items()})
        for hw, n in held.items():
            self.peak_units[hw] = max(self.peak_units.get(hw, 0), n)
        return held

    def _room(self, profile: InstanceProfile, want: int) -> int:
        """How many of ``want`` more instances of ``profile`` the auto-scaler may add now
        within the statement's budgets (the module docstring says which)."""
        if not self.budgeted or want <= 0:
            return max(0, want)
        room = want
        budget = dict(self.fleet.budgets).get(profile.hardware)
        if budget is not None and profile.units > 0:
            held = self._held_units().get(profile.hardware, 0)
            room = min(room, int((budget - held + 1e-9) // profile.units))
        if self.held_budget is not None and profile.usd_per_hour > 0:
            price = sum(len(p.instances) * p.profile.usd_per_hour for p in self.pools.values())
            room = min(room, math.floor((self.held_budget - price) / profile.usd_per_hour + 1e-9))
        room = max(0, room)
        if room < want:
            self.capped_now = True
        return room

    def _account(self, t0: float, t1: float, totals: list[float], final: bool = False) -> None:
        """Add the instances held from t0 to t1: GPU-seconds, joules (by
        :func:`interval_joules`), their price. Work started in an empty interval waits
        for the next one, unless this is the run's last."""
        dt = max(0.0, t1 - t0)
        for pool in self.pools.values():
            n, work = len(pool.instances), pool.work_interval
            if (dt > 0 and (n or work)) or (final and work):
                self.usage.append((dt, pool.profile, n, work))
                totals[1] += interval_joules(pool.profile, n, dt, work)
                pool.work_interval = 0.0
            totals[0] += n * pool.profile.gpus() * dt
            totals[2] += n * pool.profile.usd_per_hour * dt / 3600.0

    def _adopt(self, plan: tuple[dict[str, int], dict[int, list[tuple[Config, float]]]],
               forecast: dict[str, list[float]], now: float, delay: float, window: int) -> None:
        """Make ``plan`` (made for ``forecast`` from window ``window`` on) current; with the
        forecast floor, a planned policy's floors follow that forecast."""
        self._apply(*plan, now=now, delay=delay)
        if self.budgeted and self.fleet.cost_budget is not None:
            instances, routing = plan
            demands = self._demands(forecast)
            api = sum(demands[self.pairs[pi].workflow].mean * self.pairs[pi].share * share * work * 3600.0
                      * self.catalogue.profiles[key].usd_per_work
                      for pi, options in routing.items() for c, share in options for key, work in c.work)
            self.held_budget = self.fleet.cost_budget - api
        if self.s.floor == "forecast" and self.policy in ("per-pair", "joint"):
            self._follow(*plan, forecast, window)

    def _follow(self, instances: dict[str, int], routing: dict[int, list[tuple[Config, float]]],
                forecast: dict[str, list[float]], start: int) -> None:
        """Floors that follow the forecast window by window within the epoch: what each
        window's forecast load needs of a profile (with the 1.15 buffer), at most the plan."""
        demands = self._demands(forecast)
        n = max(len(d.rates) for d in demands.values())
        for key, planned in instances.items():
            prof = self.catalogue.profiles[key]
            need = []
            for t in range(n):
                work = sum(demands[self.pairs[pi].workflow].rates[t] * self.pairs[pi].share * share
                           * dict(c.work).get(key, 0.0) for pi, options in routing.items() for c, share in options)
                need.append(min(planned, max(1, instances_for(work, prof.capacity))) if prof.capacity > 0
                            else planned)
            pool = self.pools[key]
            pool.floors, pool.floors_from = need, start
        for key, pool in self.pools.items():
            if key not in instances:  # dropped by the plan: nothing to follow
                pool.floors, pool.floor = [], 0

    def _forecast(self, previous: list[float], observed: list[float], n: int) -> list[float]:
        """The next epoch's ``n`` windows of one workflow, from the last forecast and what
        was seen since it (``settings.forecast``)."""
        a = self.s.alpha
        if self.s.forecast == "windows":
            return _ewma(previous, observed, a, n)
        seen = observed or [0.0]
        before = previous or seen
        return _peak_and_mean(a * max(seen) + (1 - a) * max(before),
                              a * float(np.mean(seen)) + (1 - a) * float(np.mean(before)), n)

    def _window(self, t: float, index: int, counts: dict[str, list[int]], forecast: dict[str, list[float]],
                epoch_start: int) -> bool:
        """End of a window: auto-scale; whether the load left the forecast (re-plan early)."""
        s = self.s
        self._retire(t)
        self.capped_now = False
        for key, pool in self.pools.items():
            n = pool.active(t)
            used = pool.work_window / (pool.profile.capacity * s.window_s) if pool.profile.capacity > 0 else 0.0
            pool.work_window = 0.0
            if not s.autoscale or self.policy == "static":
                continue
            if pool.floors:
                # The next two windows' forecast (a new instance takes scale_delay_s).
                pos = index + 1 - pool.floors_from
                ahead = pool.floors[max(0, pos):pos + 2] or pool.floors[-1:]
                pool.floor = max(ahead)
                add = self._room(pool.profile, pool.floor - len(pool.instances))
                if add:
                    pool.reset(pool.instances + [_Instance(t + s.scale_delay_s) for _ in range(add)])
            if n and used > s.high * n:
                add = self._room(pool.profile, math.ceil(used / s.high - n))
                pool.reset(pool.instances + [_Instance(t + s.scale_delay_s) for _ in range(add)])
            elif used < s.low * n and len(pool.instances) > pool.floor:
                drain = 1 if self.in_flight.get(key) else 0
                keep = max(pool.floor, drain, math.ceil(used / s.high))
                pool.reset(sorted(pool.instances, key=lambda i: -i.free)[:keep])
        self.budget_capped += self.capped_now
        deviated = False
        pos = index - epoch_start
        for w, fc in forecast.items():
            if 0 <= pos < len(fc) and index < len(counts[w]):
                seen = counts[w][index] / s.window_s
                expect = fc[pos] if s.forecast == "windows" else max(fc)
                if expect > 0 and abs(seen - expect) / expect > s.deviation and seen > expect:
                    deviated = True
        return deviated


def _fifo_finish(inst: _Instance, now: float, seconds: float) -> float:
    """A first-come-first-served instance given ``seconds`` of work at ``now``: it starts
    once the instance is ready and done with what it has, and ends ``seconds`` later."""
    return max(inst.free, inst.ready, now) + seconds


def _ewma(previous: list[float], observed: list[float], alpha: float, n: int) -> list[float]:
    """Window by window: alpha x what was seen + (1 - alpha) x what was forecast."""
    out = []
    for i in range(n):
        o = observed[i] if i < len(observed) else (observed[-1] if observed else 0.0)
        p = previous[i] if i < len(previous) else (previous[-1] if previous else o)
        out.append(alpha * o + (1 - alpha) * p)
    return out


def _peak_and_mean(peak: float, mean: float, n: int) -> list[float]:
    """``n`` windows whose largest is ``peak`` and whose mean is ``mean`` (as near as the
    peak allows): the first at the peak, the rest equal. Every workflow's peak falls in
    the same window, so shared instances are sized for the sum of the peaks."""
    if n <= 1:
        return [peak]
    return [peak] + [max(0.0, (n * mean - peak) / (n - 1))] * (n - 1)


def interval_joules(profile: InstanceProfile, n: int, dt: float, work: float,
                    power_w: Callable[[InstanceProfile, float], float] = InstanceProfile.watts) -> float:
    """The energy of ``n`` instances of ``profile`` held for ``dt`` seconds while ``work``
    started on them: ``power_w(profile, share)`` each, where ``share`` is that work over
    what they serve at saturation in the interval (the router spreads it over them).
    Work on a pool with no instance held (or in no time) costs only its busy energy."""
    if profile.kind == "api":
        return 0.0
    share = interval_share(profile, n, dt, work)
    if share is None:
        return profile.busy_j_per_work * work
    return n * dt * power_w(profile, share)


def interval_share(profile: InstanceProfile, n: int, dt: float, work: float) -> float | None:
    """The work started on ``n`` instances in ``dt`` seconds over what they serve at
    saturation in that time; None when nothing was held (or for no time)."""
    if n == 0 or dt <= 0 or profile.saturation <= 0:
        return None
    return work / (n * dt * profile.saturation)


def metered_kwh(result: PolicyResult,
                power_w: Callable[[InstanceProfile, float], float] = InstanceProfile.watts) -> float:
    """The energy of a simulated run under a power model, interval by interval (see
    :func:`interval_joules`). With the default (the simulator's own) this is the run's
    ``energy_kwh``."""
    return sum(interval_joules(profile, n, dt, work, power_w) for dt, profile, n, work in result.usage) / 3.6e6


def _pick(rng: random.Random, weighted: list[tuple[int, float]]) -> int:
    x, acc = rng.random(), 0.0
    for i, w in weighted:
        acc += w
        if x < acc:
            return i
    return weighted[-1][0]


def _check_steps(s: SimSettings, horizon_s: float) -> None:
    """Refuse settings whose windows or re-plans over ``horizon_s`` would run for days:
    an epoch is whole windows, and each epoch solves a MILP."""
    if s.epoch_s < s.window_s:
        raise MurakkabError(f"an epoch ({s.epoch_s / 60:g} min) is shorter than a load window ({s.window_s:g} s)",
                            hint="an epoch is whole windows: a longer --epoch or a shorter --window")
    for what, n, limit, hint in (
            ("load windows", horizon_s / s.window_s, MAX_WINDOWS, "a longer --window or a shorter --duration"),
            ("re-plans", horizon_s / s.epoch_s, MAX_EPOCHS, "a longer --epoch or a shorter --duration")):
        if n > limit:
            raise MurakkabError(f"{horizon_s / 3600:,.1f} h of requests is about {n:,.0f} {what}; at most "
                                f"{limit:,} are simulated", hint=hint)


def simulate(fleet: BoundFleet, catalog: Catalog, policies: tuple[str, ...] = POLICIES,
             settings: SimSettings = SimSettings(), stretch: int = 1,
             progress: Callable[[str], None] | None = None, duration_s: float | None = None) -> list[PolicyResult]:
    """Every policy over the same arrivals (one seeded stream), in order."""
    stream = arrivals(fleet, stretch, settings.seed, duration_s)
    _check_steps(settings, stream[-1].t if stream else 0.0)
    catalogue = build(catalog, {i.workflow: i.request for i in fleet.items}, fleet.hardware)
    out = []
    for policy in policies:
        if progress:
            progress(f"simulating {policy}: {len(stream):,} requests")
        try:
            out.append(FleetSimulator(fleet, catalog, policy, settings, catalogue).run(stream))
        except Infeasible as exc:  # the first epoch's plan (a later one keeps the fleet)
            if exc.span is not None:
                raise
            raise Infeasible([f"policy {policy}, first epoch: {exc.diagnosis[0]}", *exc.diagnosis[1:]]
                             if exc.diagnosis else [f"policy {policy}, first epoch"], fleet.span) from None
        except SolveTimeout as exc:
            if exc.span is not None:
                raise
            raise SolveTimeout(exc.limit_s, fleet.span) from None
    return out


# -- a served plan on this machine: `murakkab serve`'s deployment, simulated -----------------------
# The fleet policies above simulate the OSDI profiles. What `murakkab serve` runs here is a
# ServePlan whose replicas run the offline stand-in agents (runtime/serve.py); to compare
# the simulator with a real Ray Serve deployment, the same event engine replays a trace
# slice through that plan with the stand-ins' stage times measured on this machine.
StageTimes = Mapping[tuple[str, str], float]  # (configuration label, stage) -> seconds in a replica


def measure_stages(plan: ServePlan, workflow: str, inputs: Sequence[dict[str, Any]], *, repeats: int = 3,
                   warmup: int = 1) -> list[dict[tuple[str, str], float]]:
    """Seconds each stage of each configuration of ``workflow`` takes on this machine, one
    table per request input: every configuration is run in this process, stage by stage
    in DAG order, by the class Serve's replicas run (``serve.StageServer``, with the
    deployment's agents and the configuration's knobs), ``warmup`` times unmeasured (agents
    load their models on a first call) then ``repeats`` times; a stage's seconds are the
    mean of the replica's own timing (``compute_s``): the mean, not the median, sets how
    busy a server is. No Ray: measured apart from any real run, one stage at a time, so
    queueing and CPU sharing are not in them (on a 2-core machine they came out up to a
    third faster than inside Ray's workers: bench/RESULTS.md)."""
    from .serve import PREPARE, StageServer

    if repeats < 1 or warmup < 0:
        raise ValueError("repeats >= 1 and warmup >= 0")
    servers = {d.name: StageServer(d.profile, dict(d.agents)) for d in plan.deployments}
    options = {o.label: o for r in plan.routes if r.workflow == workflow for o in r.options}
    tables = []
    for raw in inputs:
        prepared = PREPARE[workflow](raw, Path(plan.media_root))
        runs: dict[tuple[str, str], list[float]] = {}
        for option in options.values():
            for i in range(warmup + repeats):
                outputs: dict[str, Any] = {}
                for call in option.stages:
                    reply = servers[call.deployment].run(workflow, call.stage, prepared,
                                                         {d: outputs[d] for d in call.after}, dict(option.knobs))
                    if "error" in reply:
                        raise MurakkabError(f"stage {call.stage} ({call.profile}) failed on {raw}: {reply['error']}")
                    outputs[call.stage] = reply["output"]
                    if i >= warmup:
                        runs.setdefault((option.label, call.stage), []).append(float(reply["compute_s"]))
        tables.append({key: float(np.mean(seconds)) for key, seconds in runs.items()})
    return tables


def critical_path_s(option: Option, seconds: Mapping[str, float]) -> float:
    """A request's seconds with no queueing: the longest chain of stage ``seconds`` through
    the configuration's DAG (independent stages at once, as the ingress runs them)."""
    end: dict[str, float] = {}
    for call in option.stages:  # in DAG order
        end[call.stage] = max((end[d] for d in call.after), default=0.0) + seconds[call.stage]
    return max(end.values(), default=0.0)


@dataclass(frozen=True)
class ServedRun:
    """A simulated replay of a served plan: per request, in send order, when it was sent,
    the configuration it was routed to, its end-to-end seconds and its latency SLO."""

    sent_s: tuple[float, ...]
    options: tuple[str, ...]
    latencies_s: tuple[float, ...]
    max_latency_s: tuple[float | None, ...]

    @property
    def wall_s(self) -> float:
        """From the replay's start (time 0) to the last answer."""
        return max((s + lat for s, lat in zip(self.sent_s, self.latencies_s)), default=0.0)

    def to_dict(self) -> dict[str, float]:
        """The load generator's metrics (``runtime/loadgen.LoadReport.to_dict``), simulated."""
        met = sum(1 for lat, slo in zip(self.latencies_s, self.max_latency_s) if slo is None or lat <= slo)
        out = WorkflowStats(list(self.latencies_s), met).summary()
        return out | {"wall_s": self.wall_s,
                      "throughput_rps": len(self.latencies_s) / self.wall_s if self.wall_s > 0 else 0.0}


@dataclass(frozen=True)
class RouterBackoff:
    """How Ray Serve's router retries a call whose replicas are all at their
    ``max_ongoing_requests``: once more at once, then after sleeps of ``initial_s``, times
    ``multiplier`` each retry, at most ``max_s``. The defaults are Ray's own
    (``RAY_SERVE_ROUTER_RETRY_INITIAL_BACKOFF_S``, ``..._BACKOFF_MULTIPLIER`` and
    ``..._MAX_BACKOFF_S`` in ray/serve/_private/constants.py, Ray 2.x). A replica that
    frees does not wake a sleeping call, so it idles until the call's next retry: 0 to
    0.5 s once the call has waited a second (measured here: one replica taking one call at
    a time, six 1 s calls at once, idled 0.01 to 0.38 s between calls)."""

    initial_s: float = 0.025
    multiplier: float = 2.0
    max_s: float = 0.5

    def start(self, waiting_since: float, free: float) -> float:
        """When a call that found no free replica at ``waiting_since`` starts on one that
        frees at ``free``: at its first retry then or later."""
        t, sleep = waiting_since, self.initial_s
        while t < free:
            t += sleep
            sleep = min(sleep * self.multiplier, self.max_s)
        return t


SERVE_BACKOFF = RouterBackoff()


def simulate_served(plan: ServePlan, workflow: str, times: Sequence[StageTimes], send_at: Sequence[float],
                    slos: Sequence[str | None], *, overhead_s: float = 0.0, draws_before: int = 0,
                    backoff: RouterBackoff | None = SERVE_BACKOFF) -> ServedRun:
    """Replay requests through ``plan`` as ``serve.deploy`` runs it, in simulation.

    Request ``i`` is sent at ``send_at[i]`` asking for ``slos[i]`` and takes the stage
    seconds of ``times[i % len(times)]`` (one table per input, as a replay sends its inputs
    in turn). As the ingress does, it goes to the route of its SLO (``serve.pick_route``),
    then to a configuration drawn by the routing fractions (``serve.pick_option`` on a
    ``random.Random(plan.seed)`` shared by all requests, after ``draws_before`` draws: the
    requests the ingress answered before the replay); its stages start in the DAG's
    order, each once all those it comes after have ended. Each deployment has its deployed
    ``replicas``, each a first-come-first-served server (``_fifo_finish``); a stage goes to
    the replica that frees first, at once if it is free, else at the call's first retry
    after it frees (``backoff``; None: at once, a work-conserving queue). An LLM replica,
    which Serve lets take 8 calls at once in threads, is one server too: its calls share
    one process and the machine's cores (a stand-in call keeps one to one and a half busy),
    so together they run little faster than one after another.
    ``overhead_s``, a fixed cost per request that holds no replica (HTTP, the ingress,
    handle calls), is added to every latency."""
    routes = [r for r in plan.routes if r.workflow == workflow]
    if not routes:
        raise ValueError(f"{workflow} is not served by the plan")
    if len(send_at) != len(slos) or not times:
        raise ValueError("one SLO per send time, and at least one table of stage times")
    rng = random.Random(plan.seed)
    for _ in range(draws_before):
        rng.random()
    picked = [(route, pick_option(route.options, rng)) for route in (pick_route(routes, slo) for slo in slos)]
    replicas = {d.name: [_Instance(0.0) for _ in range(d.replicas)] for d in plan.deployments}
    heaps = {name: [(0.0, n, inst) for n, inst in enumerate(insts)] for name, insts in replicas.items()}
    # (time, sequence, request, the stage that ended; "" when the request arrives)
    events: list[tuple[float, int, int, str]] = [(t, i, i, "") for i, t in enumerate(send_at)]
    heapq.heapify(events)
    seq = len(events)
    waiting: list[dict[str, int]] = [{} for _ in send_at]  # per request: predecessors left, per stage
    ended = [0.0] * len(send_at)
    while events:
        now, _, i, stage = heapq.heappop(events)
        option = picked[i][1]
        if not stage:
            waiting[i] = {c.stage: len(c.after) for c in option.stages}
            ready = [c for c in option.stages if not c.after]
        else:
            ended[i] = now
            left = waiting[i]
            ready = []
            for c in option.stages:
                if stage in c.after:
                    left[c.stage] -= 1
                    if left[c.stage] == 0:
                        ready.append(c)
        for c in ready:
            heap = heaps[c.deployment]
            free, n, inst = heapq.heappop(heap)
            start = backoff.start(now, free) if backoff is not None else now
            inst.free = _fifo_finish(inst, start, times[i % len(times)][(option.label, c.stage)])
            heapq.heappush(heap, (inst.free, n, inst))
            heapq.heappush(events, (inst.free, seq, i, c.stage))
            seq += 1
    return ServedRun(tuple(send_at), tuple(o.label for _, o in picked),
                     tuple(e - s + overhead_s for e, s in zip(ended, send_at)),
                     tuple(r.max_latency_s for r, _ in picked))


_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948")


def gpus_svg(results: list[PolicyResult], width: int = 800, height: int = 360) -> str:
    """GPUs provisioned over time, one line per policy, as SVG."""
    left, right, top, bottom = 60, 150, 20, 40
    end = max((r.gpus_over_time[-1][0] for r in results if r.gpus_over_time), default=1.0) or 1.0
    peak = max((g for r in results for _, g in r.gpus_over_time), default=1) or 1
    w, h = width - left - right, height - top - bottom

    def xy(t: float, g: float) -> str:
        return f"{left + w * t / end:.1f},{top + h * (1 - g / peak):.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="black"/>',
             f'<text x="{left + w / 2}" y="{height - 8}" text-anchor="middle">time (h)</text>',
             f'<text x="12" y="{top + h / 2}" transform="rotate(-90 12 {top + h / 2})" text-anchor="middle">'
             f'GPUs provisioned</text>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak}</text>',
             f'<text x="{left - 6}" y="{top + h}" text-anchor="end">0</text>',
             f'<text x="{left + w}" y="{top + h + 16}" text-anchor="end">{end / 3600:.1f}</text>']
    for i, r in enumerate(results):
        points, prev = [], None
        for t, g in r.gpus_over_time:
            if prev is not None:
                points.append(xy(t, prev))  # a step: the count holds until it changes
            points.append(xy(t, g))
            prev = g
        colour = _COLOURS[i % len(_COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
        parts.append(f'<text x="{left + w + 10}" y="{top + 16 + 18 * i}" fill="{colour}">{r.policy}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_plot(results: list[PolicyResult], path: Path) -> None:
    """The GPUs-over-time plot as SVG, or PNG (rendered with OpenCV) by the suffix."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        path.write_text(gpus_svg(results), encoding="utf-8")
        return
    if path.suffix.lower() != ".png":
        raise ValueError(f"cannot draw '{path.name}': name it .svg or .png")
    import cv2

    width, height, left, top, w, h = 800, 360, 60, 20, 590, 300
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    end = max((r.gpus_over_time[-1][0] for r in results if r.gpus_over_time), default=1.0) or 1.0
    peak = max((g for r in results for _, g in r.gpus_over_time), default=1) or 1
    cv2.line(image, (left, top + h), (left + w, top + h), (0, 0, 0), 1)
    cv2.line(image, (left, top), (left, top + h), (0, 0, 0), 1)
    for i, r in enumerate(results):
        c = _COLOURS[i % len(_COLOURS)]
        bgr = tuple(int(c[k:k + 2], 16) for k in (5, 3, 1))
        prev = None
        for t, g in r.gpus_over_time:
            x = int(left + w * t / end)
            y = int(top + h * (1 - g / peak))
            if prev is not None:
                cv2.line(image, prev, (x, prev[1]), bgr, 2)
                cv2.line(image, (x, prev[1]), (x, y), bgr, 2)
            prev = (x, y)
        cv2.putText(image, r.policy, (left + w + 10, top + 16 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45, bgr, 1,
                    cv2.LINE_AA)
    cv2.putText(image, f"GPUs (max {peak}) over {end / 3600:.1f} h", (left, height - 12), cv2.FONT_HERSHEY_SIMPLEX,
                0.45, (0, 0, 0), 1, cv2.LINE_AA)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode the plot as PNG")
    path.write_bytes(data.tobytes())


def results_text(results: list[PolicyResult]) -> str:
    """Policies side by side, how many times less each uses than static (static / policy;
    "-" where the policy uses none), then per workflow."""
    base = next((r for r in results if r.policy == "static"), None)
    lines = ["policy             GPU-h    energy kWh   cost USD    p50 s    p99 s   SLOs met  re-plans"
             + ("   static/policy: GPU-h   energy     cost" if base else "")]
    for r in results:
        o = r.overall
        row = (f"{r.policy:16} {r.gpu_hours:7.1f} {r.energy_kwh:12.2f} {r.cost_usd:10.2f} {o['p50_s']:8.2f} "
               f"{o['p99_s']:8.2f} {100 * o['slo_attainment']:9.1f}% {r.replans:9d}")
        if base:
            row += (f"   {ratio(base.gpu_hours, r.gpu_hours):>20} {ratio(base.energy_kwh, r.energy_kwh):>8} "
                    f"{ratio(base.cost_usd, r.cost_usd):>8}")
        lines.append(row)
    lines.append("per workflow:")
    for r in results:
        for w, st in r.workflows.items():
            lines.append(f"  {r.policy:16} {w:10} {st['requests']:8.0f} requests  p50 {st['p50_s']:8.2f} s  "
                         f"p99 {st['p99_s']:8.2f} s  SLOs met {100 * st['slo_attainment']:5.1f}%")
    lines.append("most held at once (GPUs, or cores of a CPU type):")
    for r in results:
        held = ", ".join(f"{hw} {n:,}" for hw, n in sorted(r.peak_units.items()))
        lines.append(f"  {r.policy:16} {held or 'nothing'}")
    notes = [f"  {r.policy}: {n}" for r in results for n in r.notes[:5]]
    if notes:
        lines.append("notes:")
        lines.extend(notes)
    return "\n".join(lines) + "\n"
