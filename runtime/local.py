"""The local executor: runs a physical plan with real agents on this machine.

Each shard of the plan (a slice of a task's items, on ``units`` cores) runs in its own
worker process (processes, not threads: OpenCV, PyAV and PocketSphinx hold the GIL for
long stretches), at most as many cores busy at once as the machine has. Values flow
between tasks through the parent; every call's output is cached on disk by content
(``runtime/cache.py``), so a re-run, or a run resumed after a kill, redoes no finished call.

When a shard fails it is retried with exponential backoff; when it keeps failing, its
task is handed to the next implementation of the same interface the registry has (the
agents are fungible: same interface, same inputs), and the run goes on. A shard past its
timeout is killed and counts as a failure. Ctrl-C stops the workers and leaves the cache
consistent (entries are written atomically).

Streaming edges (``fuse_maps``) run as barriers here: a real scene detector returns as
many scenes as it finds, so the items a downstream shard needs are known only once the
upstream task is done.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

from ..catalog.catalog import Catalog
from ..compiler.logical import INPUT, MAP, Node
from ..compiler.physical.cost import timeline_totals
from ..compiler.physical.plan import PhysicalPlan
from ..grammar.diagnostics import MurakkabError
from .cache import Cache, call_key, default_cache_dir
from .executor import RunResult, ShardRun

MEDIA = {"VIDEO", "AUDIO", "SCENE", "MEDIA"}
POLL_S = 0.05


class ExecutionError(MurakkabError):
    """A task failed with every implementation the registry has for its interface."""


@dataclass
class _Work:
    """One shard to run: an agent over a list of calls."""

    task: str
    index: int
    agent: str
    units: int
    knobs: dict[str, Any]
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]]
    attempts: int = 0
    not_before: float = 0.0


@dataclass
class _Running:
    work: _Work
    handle: Any  # what the backend needs to wait for, collect and cancel the shard
    started: float
    deadline: float | None


@dataclass
class _TaskState:
    node: Node
    agent: str
    units: int
    tried: list[str] = field(default_factory=list)
    pending: int = 0
    outputs: dict[int, list[Any]] = field(default_factory=dict)


def run_shard(agent: str, knobs: dict[str, Any], calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
              cache_root: str | None) -> tuple[str, Any, int]:
    """Every call of one shard, through the cache: ("ok", outputs, cache hits) or
    ("error", message, 0). Runs in a worker (a child process, or a Ray task)."""
    try:
        from .agents import registry

        spec = registry.get(agent)
        cache = Cache(Path(cache_root)) if cache_root else None
        out, hits = [], 0
        for args, extra in calls:
            call_knobs = {**knobs, **extra}
            key = call_key(spec.name, spec.version, call_knobs, args)
            value = cache.get(key) if cache else Cache.MISSING
            if value is Cache.MISSING:
                value = spec(*args, **call_knobs)
                if cache:
                    cache.put(key, value)
            else:
                hits += 1
            out.append(value)
        return "ok", out, hits
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return "error", f"{type(exc).__name__}: {message}", 0


def _worker(agent: str, knobs: dict[str, Any], calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
            cache_root: str | None, conn: Connection) -> None:
    """The body of a child process: one shard, its answer sent down the pipe."""
    try:
        conn.send(run_shard(agent, knobs, calls, cache_root))
    finally:
        conn.close()


class LocalExecutor:
    name = "local"

    def __init__(self, catalog: Catalog, cache_dir: Path | None = None, retries: int = 2, backoff_s: float = 0.2,
                 timeout_s: float | None = None, cores: int | None = None,
                 progress: Callable[[str], None] | None = None, use_cache: bool = True,
                 available: frozenset[str] | None = None) -> None:
        self.catalog = catalog
        self.available = available
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.use_cache = use_cache
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.cores = cores or os.cpu_count() or 1
        self.progress = progress or (lambda _msg: None)
        self.notes: list[str] = []
        self.cache_hits = 0
        self._ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")

    # -- values ---------------------------------------------------------------------
    def _input_value(self, node: Node) -> Any:
        from .agents.values import Clip

        literal = node.literal
        elem = node.type.elem if node.type.is_list and node.type.elem is not None else node.type

        def convert(v: Any) -> Any:
            if elem.name in MEDIA | {"IMAGE", "DOCUMENT"} and isinstance(v, str):
                if not os.path.isfile(v):
                    raise MurakkabError(f"input file not found: {v}", node.span,
                                        "the simulator plans for files that need not exist; a real run reads them")
                return Clip.whole(v) if elem.name in MEDIA else v
            return v

        if node.type.is_list:
            return [convert(v) for v in (literal or ())]
        return convert(literal)

    def _interface_returns_list(self, node: Node) -> bool:
        iface = self.catalog.interface(node.interface or "")
        return bool(iface and iface.output.is_list)

    def _calls(self, node: Node, values: dict[str, Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """(positional arguments, per-call knobs) of every call of a task."""
        if node.op != MAP:
            return [(tuple(values[i] for i in node.inputs), {})]
        items = values[node.over]
        if node.votes:
            # A sampled task (expand_paths) maps over seeds: each sample is the same call
            # with its own sampling seed.
            args = tuple(values[i] for i in node.inputs if i != node.over)
            return [(args, {"seed": int(seed)}) for seed in items]
        mapped = node.inputs.index(node.over)
        return [(tuple(item if k == mapped else values[i] for k, i in enumerate(node.inputs)), {}) for item in items]

    # -- the run --------------------------------------------------------------------
    def run(self, plan: PhysicalPlan) -> RunResult:
        t0 = time.monotonic()
        values: dict[str, Any] = {}
        for node in plan.logical.nodes:
            if node.op == INPUT:
                values[node.id] = self._input_value(node)
        tasks = {t.id: t for t in plan.tasks}
        states = {n.id: _TaskState(n, tasks[n.id].candidate.agent, tasks[n.id].candidate.units)
                  for n in plan.logical.tasks}
        waiting = [n.id for n in plan.logical.tasks]
        queue: list[_Work] = []
        running: list[_Running] = []
        timeline: list[ShardRun] = []
        busy_cores = 0
        try:
            while waiting or queue or running:
                # Tasks whose inputs are all computed become shards.
                for task_id in list(waiting):
                    node = states[task_id].node
                    if all(i in values for i in node.inputs):
                        waiting.remove(task_id)
                        self._start_task(states[task_id], tasks[task_id].candidate.fanout, values, queue)
                        if states[task_id].pending == 0:
                            values[task_id] = self._assemble(states[task_id])
                now = time.monotonic()
                # Start what fits, in plan order.
                for work in list(queue):
                    units = min(work.units, self.cores)
                    if work.not_before <= now and busy_cores + units <= self.cores:
                        queue.remove(work)
                        running.append(self._spawn(work))
                        busy_cores += units
                if not running:
                    if queue:
                        time.sleep(min(POLL_S, max(0.0, min(w.not_before for w in queue) - now)))
                    continue
                ready = self._wait(running, POLL_S)
                now = time.monotonic()
                for r in list(running):
                    timed_out = r.deadline is not None and now > r.deadline
                    if r not in ready and not timed_out:
                        continue
                    running.remove(r)
                    busy_cores -= min(r.work.units, self.cores)
                    outcome = self._collect(r, timed_out)
                    state = states[r.work.task]
                    if outcome is None:
                        self._failed(r.work, state, queue)
                        continue
                    state.outputs[r.work.index] = outcome
                    state.pending -= 1
                    timeline.append(ShardRun(r.work.task, r.work.index, r.work.agent, "local#0", "local-core",
                                             min(r.work.units, self.cores), float(len(r.work.calls)),
                                             r.started - t0, now - t0))
                    self.progress(f"{r.work.task} shard {r.work.index + 1} done by {r.work.agent} "
                                  f"in {now - r.started:.2f} s")
                    if state.pending == 0:
                        values[r.work.task] = self._assemble(state)
        except KeyboardInterrupt:
            for r in running:
                self._cancel(r)
            raise MurakkabError("interrupted: the finished calls are cached and a re-run resumes from them") \
                from None
        timeline.sort(key=lambda s: (s.start_s, s.task, s.index))
        totals = self._totals(plan, timeline)
        outputs = tuple((i, _text(values[i])) for i in plan.logical.output.inputs)
        return RunResult(self.name, plan.job, totals, tuple(timeline), len(timeline), outputs,
                         tuple(self.notes), self.cache_hits)

    def _start_task(self, state: _TaskState, fanout: int, values: dict[str, Any], queue: list[_Work]) -> None:
        calls = self._calls(state.node, values)
        state.outputs.clear()
        if not calls:
            state.pending = 0
            return
        k = max(1, min(fanout, len(calls)))
        size = math.ceil(len(calls) / k)
        slices = [calls[i:i + size] for i in range(0, len(calls), size)]
        state.pending = len(slices)
        knobs = {name: int(v) if float(v).is_integer() else v for name, v in state.node.knobs}
        for i, part in enumerate(slices):
            queue.append(_Work(state.node.id, i, state.agent, state.units, knobs, part))

    # -- the worker backend: child processes (RayExecutor overrides these four) ---------
    def _spawn(self, work: _Work) -> _Running:
        parent, child = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=_worker, args=(work.agent, work.knobs, work.calls,
                                  str(self.cache_dir) if self.use_cache else None, child), daemon=True)
        process.start()
        child.close()
        now = time.monotonic()
        return _Running(work, (process, parent), now, now + self.timeout_s if self.timeout_s else None)

    def _wait(self, running: list[_Running], timeout: float) -> list[_Running]:
        ready = wait([r.handle[1] for r in running], timeout=timeout)
        return [r for r in running if r.handle[1] in ready]

    def _answer(self, r: _Running) -> tuple[str, Any, int]:
        process, conn = r.handle
        try:
            answer = conn.recv()
        except EOFError:
            answer = ("error", f"the worker died (exit code {process.exitcode})", 0)
        process.join()
        return answer

    def _cancel(self, r: _Running) -> None:
        process, _ = r.handle
        process.kill()
        process.join()

    def _collect(self, r: _Running, timed_out: bool) -> list[Any] | None:
        if timed_out:
            self._cancel(r)
            self.notes.append(f"{r.work.task} shard {r.work.index}: {r.work.agent} timed out after "
                              f"{self.timeout_s:g} s")
            return None
        status, payload, hits = self._answer(r)
        if status == "ok":
            self.cache_hits += hits
            return payload
        self.notes.append(f"{r.work.task} shard {r.work.index}: {r.work.agent} failed: {payload}")
        return None

    def _failed(self, work: _Work, state: _TaskState, queue: list[_Work]) -> None:
        work.attempts += 1
        if work.attempts <= self.retries:
            work.not_before = time.monotonic() + self.backoff_s * 2 ** (work.attempts - 1)
            queue.append(work)
            return
        # Retries spent: hand the shard to the next implementation of the interface.
        replacement = self._next_agent(state)
        if replacement is None:
            raise ExecutionError(
                f"task '{state.node.id}' failed with every implementation of {state.node.interface}: "
                f"{', '.join(state.tried + [state.agent])}", state.node.span,
                "see the failures above; fix the agent or its input and run again (finished calls are cached)")
        self.notes.append(f"{state.node.id}: replaced {state.agent} by {replacement} after {self.retries} retries")
        state.tried.append(state.agent)
        state.agent = replacement
        queue.append(_Work(work.task, work.index, replacement, 1, work.knobs, work.calls))

    def _next_agent(self, state: _TaskState) -> str | None:
        from .agents import registry

        tried = set(state.tried) | {state.agent}
        options = []
        for spec in registry.registered(state.node.interface):
            if spec.name in tried or (self.available is not None and spec.name not in self.available):
                continue
            agent = self.catalog.agent(spec.name)
            options.append((-(agent.quality if agent else 0.0), spec.name))
        return min(options)[1] if options else None

    def _assemble(self, state: _TaskState) -> Any:
        parts = [v for i in sorted(state.outputs) for v in state.outputs[i]]
        if state.node.op != MAP:
            return parts[0] if parts else None
        if self._interface_returns_list(state.node):
            return [x for part in parts for x in part]
        return parts

    def _totals(self, plan: PhysicalPlan, timeline: list[ShardRun]):
        hw = self.catalog.hardware("local-core")
        watts = hw.active_w if hw else 0.0
        rows = [("local#0", "local-core", r.start_s, r.end_s, r.units, watts) for r in timeline]
        return timeline_totals(self.catalog, rows, plan.estimate.quality) if hw else plan.estimate


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return repr(value)

