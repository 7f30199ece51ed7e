"""The fleet MILP: how many instances of each profile, and how each (workflow, SLO)
pair's requests are routed over configurations.

Sets: pairs p (a workflow w(p) and an SLO, with the share s_p of the workflow's requests
that ask for it); configurations c of w(p) eligible for p (its accuracy and end-to-end
latency meet the SLO and the quality floor); instance profiles m; rate windows t.

Data: r_w(t) requests/s of workflow w in window t, r̄_w their mean; work_cm the work one
request of configuration c puts on profile m (tokens or busy seconds); capacity θ_m of one
instance at its operating point; buffer β = 1.15; per instance held power I_m, price P_m
and GPUs g_m; energy e_m and API price q_m per unit of work (I_m and e_m: the line through
the profile's measured power curve, ``workload.held_and_busy``).

Variables: x_pc ≥ 0 the share of p's requests routed to c; u_wm ≥ 0 the instances of m
one request per second of w keeps busy, routing included; integer n_m ≥ 0 instances;
when re-planning a fleet that holds k_m instances now, d_m ≥ 0 the instances dropped.

    Σ_c x_pc = 1                                   every request is routed
    θ_m u_wm = Σ_{p of w} s_p Σ_c x_pc work_cm     (peak and average share one routing)
    β Σ_w r_w(t) u_wm ≤ n_m       for every t     capacity at the peak of the combined stream
    u_wm ≤ M_wm n_m                                a profile in use holds an instance (M_wm: u_wm's
                                                   largest value), however small its load; added
                                                   only for the (w, m) a solution breaks it on
    Σ_{m on type h} units_m (n_m + d_m) ≤ B_h      GPU (or core) budget per type, the switch included
    cost ≤ budget                                  optional, per hour
    n_m + d_m ≥ k_m                                re-planning: what the plan drops

    energy (Wh per hour) = Σ_m I_m (n_m + δ d_m) + Σ_m e_m θ_m Σ_w r̄_w u_wm   (W = Wh per hour)
    cost ($ per hour)    = Σ_m P_m (n_m + δ d_m) + 3600 Σ_m q_m θ_m Σ_w r̄_w u_wm
    GPUs                 = Σ_m g_m n_m
    quality              = Σ_p (r̄_w s_p / Σ_w r̄_w) Σ_c x_pc accuracy_c   (request-weighted)
    latency (s)          = Σ_p (r̄_w s_p / Σ_w r̄_w) Σ_c x_pc latency_c

A re-plan makes before it breaks: an instance it drops stays held (and serves) until the
new plan's instances are ready, a share δ of the epoch (provisioning time / epoch). So a
plan that swaps instances for others pays δ of their held power and price, and swaps
only when that saves more, and a budget of GPUs (or cores) must hold the dropped
instances beside the new ones. With no fleet held, d is empty.

Sharing is where the savings come from: an instance of m serves every workflow routed to
it and is sized for the peak *of the sum* of their loads, max_t Σ_w r_w(t) u_wm, which is
at most the sum of each one's peak (no multiplexing factor is assumed). Windows whose
rate vector another window dominates are dropped: their constraints are implied.

Goals are lexicographic: each is optimised with the earlier ones held at their optimum
(within a relative 1e-6). Tie-breaks the script did not ask for (cost, then GPUs) get at
most a fifth of the time limit each; a fleet is proven optimal when the script's goals are. HiGHS (highspy) solves each stage to a relative gap of 1e-6
within what is left of the time limit, starting from the previous stage's optimum; a
stage that runs out of time reports its incumbent with the best bound and gap.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from ...grammar.diagnostics import InfeasibleError, MurakkabError, Span
from ..scheduling.quiet import quiet
from .workload import Catalogue, Config, InstanceProfile

BUFFER = 1.15
GAP = 1e-6
LINK_TOL = 1e-9  # instances per request/s below which a profile carries no load
TIE_SHARE = 0.2


def instances_for(work_per_s: float, capacity: float, buffer: float = BUFFER) -> int:
    """Instances of ``capacity`` work/s that carry ``work_per_s`` with the buffer (the
    MILP's capacity row, for a fixed load; a hair over a whole count is not one more)."""
    return math.ceil(buffer * work_per_s / capacity - 1e-9)
METRICS = {"energy": "minimize", "cost": "minimize", "gpus": "minimize", "quality": "maximize",
           "latency": "minimize"}
UNITS = {"energy": "Wh/h", "cost": "USD/h", "gpus": "GPUs", "quality": "", "latency": "s"}


@dataclass(frozen=True)
class Pair:
    """The requests of ``workflow`` that ask for one SLO (``share`` of them)."""

    workflow: str
    label: str
    share: float
    min_accuracy: float
    max_latency_s: float = math.inf


@dataclass(frozen=True)
class Demand:
    """Requests per second of a workflow in consecutive windows of ``window_s``."""

    workflow: str
    rates: tuple[float, ...]
    window_s: float
    source: str

    @property
    def mean(self) -> float:
        return float(np.mean(self.rates))

    @property
    def peak(self) -> float:
        return float(np.max(self.rates))


@dataclass(frozen=True)
class Problem:
    pairs: tuple[Pair, ...]
    demands: dict[str, Demand]
    catalogue: Catalogue
    objectives: tuple[tuple[str, str], ...] = (("energy", "minimize"), ("cost", "minimize"))
    budgets: dict[str, float] = field(default_factory=dict)  # hardware -> units
    cost_budget: float | None = None  # USD per hour
    buffer: float = BUFFER
    time_limit_s: float = 30.0
    # The last ``ties`` objectives only break ties between equally good fleets: each gets
    # at most TIE_SHARE of the time limit, and the fleet is "proven" on the others.
    ties: int = 0
    # Re-planning: the instances of each profile held now, and the share of the epoch an
    # instance the plan drops stays held (make before break: until the new ones are ready).
    current: dict[str, int] = field(default_factory=dict)
    drop_share: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.drop_share <= 1.0:
            raise ValueError(f"drop_share is a share of the epoch, in [0, 1]: got {self.drop_share!r}")
        if any(n < 0 for n in self.current.values()):
            raise ValueError("current holds instance counts, none negative: " + repr(self.current))

    def eligible(self, pair: Pair) -> list[Config]:
        return [c for c in self.catalogue.configs.get(pair.workflow, ())
                if c.accuracy >= pair.min_accuracy - 1e-12 and c.latency_s <= pair.max_latency_s + 1e-9]


@dataclass(frozen=True)
class Stage:
    metric: str
    direction: str
    value: float
    bound: float
    gap: float
    status: str  # "optimal" | "time limit"
    tie: bool = False  # a tie-break the script did not ask for


@dataclass(frozen=True)
class Solution:
    """Instances per profile, routing per pair, totals and how they were proven."""

    instances: dict[str, int]
    routing: dict[int, list[tuple[Config, float]]]  # pair index -> (config, share)
    load: dict[str, tuple[float, float]]  # profile -> (peak work/s with buffer, mean work/s)
    totals: dict[str, float]
    stages: tuple[Stage, ...]
    seconds: float
    size: tuple[int, int, int]  # variables, integer variables, constraints

    @property
    def proven(self) -> bool:
        """Every goal the script asked for is proven optimal (tie-breaks aside)."""
        return all(s.status == "optimal" for s in self.stages if not s.tie)


class Infeasible(InfeasibleError):
    """No fleet meets every SLO within the budgets; ``diagnosis`` says which and by how much
    (a user's error, located at the PLAN FLEET statement when ``span`` is given)."""

    def __init__(self, diagnosis: list[str], span: Span | None = None) -> None:
        super().__init__("no fleet meets every SLO within the budgets: " + "; ".join(diagnosis), span,
                         hint="each part names the SLO or budget at fault and the best value reachable: "
                              "relax that SLO, raise that budget, or state smaller inputs with ASSUMING")
        self.diagnosis = diagnosis


class SolveTimeout(MurakkabError):
    """The time limit passed before the MILP found any fleet (a user's error: the limit is
    a setting)."""

    def __init__(self, limit_s: float, span: Span | None = None) -> None:
        super().__init__(f"no fleet found within the solver's time limit ({limit_s:g} s)", span,
                         hint="raise it: SET solver_time_limit = 30 s (the default is 10 s)")
        self.limit_s = limit_s


def undominated(configs: list[Config]) -> list[Config]:
    """Configurations no other asks less of on every profile (a profile it does not use
    counts as 0); of equal twins the first is kept."""
    if len(configs) < 2:
        return configs
    keys = sorted({k for c in configs for k, _ in c.work})
    index = {k: i for i, k in enumerate(keys)}
    w = np.zeros((len(configs), len(keys)))
    for i, c in enumerate(configs):
        for k, x in c.work:
            w[i, index[k]] = x
    kept = []
    for i in range(len(configs)):
        no_more = np.all(w <= w[i] + 1e-12, axis=1)
        less = np.any(w < w[i] - 1e-12, axis=1)
        earlier = np.arange(len(configs)) < i
        if not np.any(no_more & (less | earlier)):
            kept.append(configs[i])
    return kept


def pareto_windows(demands: list[Demand]) -> list[int]:
    """Indices of windows whose rate vector no other window dominates (all coefficients
    of a capacity row are non-negative, so a dominated window's row is implied)."""
    n = len(demands[0].rates)
    if any(len(d.rates) != n for d in demands):
        raise ValueError("every workflow's rates must cover the same windows")
    rates = np.array([d.rates for d in demands]).T  # windows x workflows
    keep = []
    order = np.argsort(-rates.sum(axis=1), kind="stable")
    for i in order:
        if not any(np.all(rates[j] >= rates[i]) for j in keep):
            keep.append(int(i))
    return sorted(keep)


class _Model:
    """The matrices of the MILP for one problem (built once, re-solved per goal)."""

    def __init__(self, problem: Problem) -> None:
        from scipy import sparse

        self.p = problem
        cat = problem.catalogue
        self.workflows = sorted({pr.workflow for pr in problem.pairs})
        # Routing a pair to a configuration that asks more of every profile than another
        # eligible one can only cost more, unless a goal reads quality or latency.
        per_request = {"quality", "latency"} & {m for m, _ in problem.objectives}
        self.eligible = [problem.eligible(pr) if per_request else undominated(problem.eligible(pr))
                         for pr in problem.pairs]
        # Profiles held now are in the model even if no pair may use them any more: the
        # plan drops them, and what that costs is part of its totals.
        used = sorted({k for cs in self.eligible for c in cs for k, _ in c.work}
                      | {k for k, n in problem.current.items() if n > 0 and k in cat.profiles})
        self.profiles: list[InstanceProfile] = [cat.profiles[k] for k in used]
        m_index = {k: i for i, k in enumerate(used)}
        # Variable layout: x (per pair and eligible config), u (per workflow and profile it may use), n.
        self.x_of: list[list[int]] = []
        col = 0
        for cs in self.eligible:
            self.x_of.append(list(range(col, col + len(cs))))
            col += len(cs)
        self.nx = col
        self.u_index: dict[tuple[str, int], int] = {}
        for pi, pr in enumerate(problem.pairs):
            for c in self.eligible[pi]:
                for k, _ in c.work:
                    key = (pr.workflow, m_index[k])
                    if key not in self.u_index:
                        self.u_index[key] = col
                        col += 1
        self.n0 = col
        col += len(self.profiles)
        # d_m, the instances a re-plan drops, for each profile held now.
        self.d_of = {mi: col + j for j, mi in enumerate(mi for mi, p in enumerate(self.profiles)
                                                           if problem.current.get(p.key, 0) > 0)}
        self.nvar = col + len(self.d_of)
        rows, cols, vals, lo, hi = [], [], [], [], []
        r = 0

        def row(entries: list[tuple[int, float]], low: float, high: float) -> None:
            nonlocal r
            for c_, v in entries:
                rows.append(r)
                cols.append(c_)
                vals.append(v)
            lo.append(low)
            hi.append(high)
            r += 1

        for pi in range(len(problem.pairs)):
            row([(c, 1.0) for c in self.x_of[pi]], 1.0, 1.0)
        u_terms: dict[int, list[tuple[int, float]]] = {u: [(u, 1.0)] for u in self.u_index.values()}
        for pi, pr in enumerate(problem.pairs):
            for c, xc in zip(self.eligible[pi], self.x_of[pi]):
                for k, w in c.work:
                    # u is kept in instances per request/s (work / capacity): the rows then
                    # hold numbers of like size (tokens and seconds differ by 10^6).
                    prof = self.profiles[m_index[k]]
                    u_terms[self.u_index[(pr.workflow, m_index[k])]].append((xc, -pr.share * w / prof.capacity))
        for entries in u_terms.values():
            row(entries, 0.0, 0.0)
        demands = [problem.demands[w] for w in self.workflows]
        self.windows = pareto_windows(demands)
        for t in self.windows:
            for mi, prof in enumerate(self.profiles):
                entries = [(u, problem.buffer * problem.demands[w].rates[t]) for (w, m), u in self.u_index.items()
                           if m == mi]
                row(entries + [(self.n0 + mi, -1.0)], -np.inf, 0.0)
        for hw, budget in sorted(problem.budgets.items()):
            # Make before break: while the new instances are provisioned, the dropped ones
            # are still held, so a switch must fit the budget with both.
            entries = [(col, float(p.units)) for mi, p in enumerate(self.profiles) if p.hardware == hw
                       for col in (self.n0 + mi, self.d_of.get(mi)) if col is not None]
            if entries:
                row(entries, -np.inf, float(budget))
        for mi, d in self.d_of.items():
            row([(self.n0 + mi, 1.0), (d, 1.0)], float(problem.current[self.profiles[mi].key]), np.inf)
        self.base_rows = r
        # A profile anything is routed to holds an instance, however small its load: at a
        # rate of a few requests a day the capacity rows are within the solver's tolerance
        # of zero instances. u_wm is at most M_wm (all of w's pairs routed to the configs
        # that ask the most of m), so u_wm <= M_wm n_m forces n_m >= 1 and nothing else.
        # These rows are added lazily (``unlinked``): at the rates a fleet is planned for
        # the capacity rows imply them, and 100 workflows would carry thousands of them.
        self.most: dict[int, float] = {}
        for pi, pr in enumerate(problem.pairs):
            for k in {k for c in self.eligible[pi] for k, _ in c.work}:
                u = self.u_index[(pr.workflow, m_index[k])]
                heaviest = max(w for c in self.eligible[pi] for k2, w in c.work if k2 == k)
                self.most[u] = self.most.get(u, 0.0) + pr.share * heaviest / self.profiles[m_index[k]].capacity
        self.linked: set[tuple[str, int]] = set()
        self.cost_vec = self.metric_vector("cost")
        self.A = sparse.csr_matrix((vals, (rows, cols)), shape=(r, self.nvar))
        self.lo, self.hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
        if problem.cost_budget is not None:
            self.add_row(self.cost_vec, -np.inf, problem.cost_budget)
        upper = np.full(self.nvar, np.inf)
        upper[: self.nx] = 1.0
        for mi, prof in enumerate(self.profiles):
            if prof.max_instances is not None:
                upper[self.n0 + mi] = prof.max_instances
        self.bounds = (np.zeros(self.nvar), upper)
        self.integrality = np.zeros(self.nvar)
        self.integrality[self.n0:self.n0 + len(self.profiles)] = 1

    def add_row(self, vec: np.ndarray, low: float, high: float) -> None:
        from scipy import sparse

        self.A = sparse.vstack([self.A, sparse.csr_matrix(vec)], format="csr")
        self.lo = np.append(self.lo, low)
        self.hi = np.append(self.hi, high)

    def unlinked(self, x: np.ndarray) -> list[tuple[str, int]]:
        """(workflow, profile) pairs ``x`` routes work to while holding no instance of it."""
        return [(w, mi) for (w, mi), u in self.u_index.items()
                if x[u] > LINK_TOL and round(x[self.n0 + mi]) == 0 and (w, mi) not in self.linked]

    def link(self, keys: list[tuple[str, int]]) -> None:
        """Add u_wm <= M_wm n_m for ``keys``."""
        from scipy import sparse

        rows = sparse.lil_matrix((len(keys), self.nvar))
        for i, (w, mi) in enumerate(keys):
            u = self.u_index[(w, mi)]
            rows[i, u], rows[i, self.n0 + mi] = 1.0, -self.most[u]
        self.A = sparse.vstack([self.A, rows.tocsr()], format="csr")
        self.lo = np.append(self.lo, np.full(len(keys), -np.inf))
        self.hi = np.append(self.hi, np.zeros(len(keys)))
        self.linked.update(keys)

    def metric_vector(self, metric: str) -> np.ndarray:
        """Coefficients of a metric (per hour, or per request for quality and latency)."""
        v = np.zeros(self.nvar)
        p = self.p
        if metric in ("energy", "cost", "gpus"):
            for mi, prof in enumerate(self.profiles):
                v[self.n0 + mi] = {"energy": prof.held_w, "cost": prof.usd_per_hour, "gpus": prof.gpus()}[metric]
                if mi in self.d_of and metric != "gpus":
                    v[self.d_of[mi]] = p.drop_share * v[self.n0 + mi]
            if metric != "gpus":
                for (w, mi), u in self.u_index.items():
                    prof = self.profiles[mi]
                    # W = J/s of busy work; over an hour that is Wh. API work is priced per token.
                    per = prof.busy_j_per_work if metric == "energy" else 3600.0 * prof.usd_per_work
                    v[u] = per * p.demands[w].mean * prof.capacity
        else:
            total = sum(p.demands[w].mean for w in self.workflows)
            for pi, pr in enumerate(p.pairs):
                weight = p.demands[pr.workflow].mean * pr.share / total if total > 0 else 0.0
                for c, xc in zip(self.eligible[pi], self.x_of[pi]):
                    v[xc] = weight * (c.accuracy if metric == "quality" else c.latency_s)
        return v

    def solve(self, deadline: float) -> tuple[np.ndarray, tuple[Stage, ...]]:
        stages = []
        x = None
        goals = len(self.p.objectives) - self.p.ties
        for i, (metric, direction) in enumerate(self.p.objectives):
            vec = self.metric_vector(metric)
            sign = 1.0 if direction == "minimize" else -1.0
            left = deadline - time.perf_counter()
            tie = i >= goals
            if tie:
                left = min(left, TIE_SHARE * self.p.time_limit_s)
            if left <= 0:
                if x is None:
                    raise SolveTimeout(self.p.time_limit_s)
                break
            # The previous goal's optimum is feasible here (it meets the tie row): a MIP start.
            # It also meets every link row (it was checked), so the goals held before stay
            # optimal when a stage adds link rows and solves again.
            res = highs(sign * vec, self.A, self.lo, self.hi, self.integrality, self.bounds, left, x)
            while res.x is not None and (missing := self.unlinked(res.x)):
                self.link(missing)
                left = deadline - time.perf_counter()
                if tie:
                    left = min(left, TIE_SHARE * self.p.time_limit_s)
                res = highs(sign * vec, self.A, self.lo, self.hi, self.integrality, self.bounds, max(left, 0.0), x)
            if res.x is None:
                if res.infeasible:
                    raise Infeasible([])
                if x is None:
                    raise SolveTimeout(self.p.time_limit_s)
                break
            x = res.x
            value = float(vec @ x)
            bound = sign * res.bound if res.bound is not None and math.isfinite(res.bound) else value
            stages.append(Stage(metric, direction, value, bound, res.gap, "optimal" if res.optimal else "time limit",
                                tie))
            # Hold this goal at its optimum (within the gap) before the next one.
            slack = max(1e-6, GAP * abs(value))
            if direction == "minimize":
                self.add_row(vec, -np.inf, value + slack)
            else:
                self.add_row(vec, value - slack, np.inf)
        if x is None:  # no goals at all: the solver was never asked
            raise SolveTimeout(self.p.time_limit_s)
        return x, tuple(stages)


@dataclass(frozen=True)
class _Result:
    x: np.ndarray | None
    optimal: bool
    infeasible: bool
    bound: float | None
    gap: float


def highs(cost: np.ndarray, a: Any, lo: np.ndarray, hi: np.ndarray, integrality: np.ndarray,
          bounds: tuple[np.ndarray, np.ndarray], time_limit: float, start: np.ndarray | None = None) -> _Result:
    """min cost @ x subject to lo <= A x <= hi, bounds and integrality, by HiGHS (highspy),
    silent, within ``time_limit`` seconds, from a MIP start when given."""
    from scipy import sparse

    with quiet():  # highspy prints a banner to file descriptor 1 on import and on run
        import highspy

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(max(0.05, time_limit)))
        h.setOptionValue("mip_rel_gap", GAP)
        # Measured on the paper-size fleet (bench/fleet.py): HiGHS spent ~70% of its time
        # in RINS/RENS sub-MIPs and root restarts; without them it proves the same optima
        # 3-6x sooner (the root's LP bound is already within 0.3%).
        for option in ("mip_heuristic_run_rins", "mip_heuristic_run_rens", "mip_allow_restart"):
            h.setOptionValue(option, False)
        lp = highspy.HighsLp()
        n, m = a.shape[1], a.shape[0]
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = cost.astype(float)
        lp.col_lower_, lp.col_upper_ = bounds[0].astype(float), bounds[1].astype(float)
        lp.row_lower_, lp.row_upper_ = lo.astype(float), hi.astype(float)
        csc = sparse.csc_matrix(a)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data.astype(float)
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in integrality]
        h.passModel(lp)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, start))
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.array(h.getSolution().col_value) if has else None
        optimal = status == highspy.HighsModelStatus.kOptimal
        infeasible = status == highspy.HighsModelStatus.kInfeasible
        bound = info.mip_dual_bound if integrality.any() else info.objective_function_value
        gap = info.mip_gap if integrality.any() and math.isfinite(info.mip_gap) else 0.0
    return _Result(x, optimal and has, infeasible, bound, 0.0 if optimal else gap)


def solve(problem: Problem) -> Solution:
    """The best fleet for ``problem``; raises :class:`Infeasible` with a diagnosis."""
    start = time.perf_counter()
    for pi, pr in enumerate(problem.pairs):
        if not problem.eligible(pr):
            raise Infeasible([diagnose_pair(problem, pr)])
    model = _Model(problem)
    try:
        x, stages = model.solve(start + problem.time_limit_s)
    except Infeasible:
        raise Infeasible(diagnose_budgets(problem)) from None
    n = np.round(x[model.n0:model.n0 + len(model.profiles)]).astype(int)
    instances = {p.key: int(k) for p, k in zip(model.profiles, n) if k > 0}
    routing: dict[int, list[tuple[Config, float]]] = {}
    for pi, cs in enumerate(model.eligible):
        routing[pi] = [(c, float(x[xc])) for c, xc in zip(cs, model.x_of[pi]) if x[xc] > 1e-7]
    x_int = x.copy()
    x_int[model.n0:model.n0 + len(model.profiles)] = n
    for mi, d in model.d_of.items():  # what the rounded counts drop
        x_int[d] = max(0, problem.current[model.profiles[mi].key] - n[mi])
    totals = {m: float(model.metric_vector(m) @ x_int) for m in METRICS}
    load = {}
    for mi, prof in enumerate(model.profiles):
        us = [(w, u) for (w, m), u in model.u_index.items() if m == mi]
        peak = prof.capacity * max((problem.buffer * sum(problem.demands[w].rates[t] * x[u] for w, u in us)
                                    for t in model.windows), default=0.0)
        mean = prof.capacity * sum(problem.demands[w].mean * x[u] for w, u in us)
        if prof.key in instances:
            load[prof.key] = (peak, mean)
            if peak <= 0 and prof.usd_per_hour == 0 and prof.held_w == 0 and prof.gpus() == 0:
                # A free instance nothing is routed to (an API endpoint the solver was
                # indifferent about) changes no total: not part of the fleet.
                del instances[prof.key], load[prof.key]
    return Solution(instances, routing, load, totals, stages, time.perf_counter() - start,
                    (model.nvar, len(model.profiles), model.A.shape[0]))


def diagnose_pair(problem: Problem, pair: Pair) -> str:
    """Why no configuration serves ``pair``: its constraint and the best reachable value."""
    configs = problem.catalogue.configs.get(pair.workflow, [])
    if not configs:
        return f"{pair.workflow}: no configuration can run on the fleet's hardware"
    fast = [c for c in configs if c.accuracy >= pair.min_accuracy - 1e-12]
    accurate = [c for c in configs if c.latency_s <= pair.max_latency_s + 1e-9]
    if math.isfinite(pair.max_latency_s) and fast:
        best = min(fast, key=lambda c: c.latency_s)
        return (f"{pair.workflow} {pair.label}: no configuration is fast enough; the fastest at quality >= "
                f"{pair.min_accuracy:.3f} takes {best.latency_s:.2f} s ({best.label()})")
    best = max(accurate or configs, key=lambda c: c.accuracy)
    within = " within the latency" if accurate and math.isfinite(pair.max_latency_s) else ""
    return (f"{pair.workflow} {pair.label}: no configuration is accurate enough; the most accurate"
            f"{within} reaches quality {best.accuracy:.3f} ({best.label()})")


def diagnose_budgets(problem: Problem) -> list[str]:
    """Each budget the SLOs need more of than allowed: the least the fleet needs of it."""
    if problem.current:
        try:
            solve(replace(problem, current={}, drop_share=0.0))
        except Infeasible:
            pass
        else:  # a fleet held nothing before would do: the switch from the held one is the fault
            held = ", ".join(f"{n} x {k}" for k, n in sorted(problem.current.items()))
            return [f"the fleet held now ({held}): every fleet that meets the SLOs within the budgets means a "
                    "switch that holds more than the budgets while its new instances are provisioned "
                    "(make before break)"]
    free = Problem(problem.pairs, problem.demands, problem.catalogue, (("gpus", "minimize"),), {}, None,
                   problem.buffer, problem.time_limit_s)
    out = []
    for hw, budget in sorted(problem.budgets.items()):
        need = _least(free, lambda p: p.hardware == hw, lambda p: float(p.units))
        if need is not None and need > budget + 1e-9:
            out.append(f"budget {hw} <= {budget:g}: the SLOs need at least {need:g} units of {hw}")
    if problem.cost_budget is not None:
        least = solve(Problem(problem.pairs, problem.demands, problem.catalogue, (("cost", "minimize"),),
                              problem.budgets, None, problem.buffer, problem.time_limit_s))
        if least.totals["cost"] > problem.cost_budget + 1e-9:
            out.append(f"budget cost <= {problem.cost_budget:g} USD/h: the SLOs need at least "
                       f"{least.totals['cost']:.2f} USD/h")
    if out:
        return out
    if not problem.budgets:
        peak = {w: d.peak for w, d in problem.demands.items()}
        return ["no budget limits this fleet, yet the solver found none: at peaks of "
                + ", ".join(f"{w} {r:,.4g} requests/s" for w, r in sorted(peak.items()))
                + " the instances needed (or an API endpoint's rate limit) are out of reach"]
    together = "the budgets together leave no room for the SLOs (each alone could be met)"
    # Each budget alone could be met: say what the budgeted types need between them.
    need = _least(free, lambda p: p.hardware in problem.budgets, lambda p: float(p.units)) if problem.budgets else None
    if need is None:
        return [together]
    allowed, names = sum(problem.budgets.values()), ", ".join(sorted(problem.budgets))
    if need > allowed + 1e-9:
        limits = " and ".join(f"{hw} <= {problem.budgets[hw]:g}" for hw in sorted(problem.budgets))
        return [f"budgets {limits}: the SLOs need at least {need:g} units of {names} together, {allowed:g} allowed"]
    return [f"{together[:-1]}; {names} together need at least {need:g} units, {allowed:g} allowed, but not in "
            "the mix the budgets allow)"]


def _least(problem: Problem, which: Callable[[InstanceProfile], bool],
           weight: Callable[[InstanceProfile], float]) -> float | None:
    model = _Model(problem)
    vec = np.zeros(model.nvar)
    for mi, prof in enumerate(model.profiles):
        if which(prof):
            vec[model.n0 + mi] = weight(prof)
    res = highs(vec, model.A, model.lo, model.hi, model.integrality, model.bounds, problem.time_limit_s)
    return None if res.x is None else float(vec @ np.round(res.x))
