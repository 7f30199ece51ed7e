"""The local executor: runs a physical plan with real agents on this machine.

Each shard of the plan (a slice of a task's items, on ``units`` cores or GPUs) runs in
its own worker process (processes, not threads: OpenCV, PyAV and PocketSphinx hold the
GIL for long stretches), never more units busy at once than the machine has: cores by
count, GPUs (found by nvidia-smi, see ``catalog.this_machine``) by device index, each GPU
shard seeing only its own devices through ``CUDA_VISIBLE_DEVICES``. Values flow
between tasks through the parent; every call's output is cached on disk by content
(``runtime/cache.py``), so a re-run, or a run resumed after a kill, redoes no finished call.

When a shard fails it is retried with exponential backoff; when it keeps failing, its
agent is dropped and the job is planned again without it (``replan``, see
``compiler/physical/replan.py``): the failing task and every task not yet started take
the new plan's configuration (the agents are fungible: same interface, same inputs), and
the run goes on. Without a re-planner the task takes the registry's best other
implementation. A shard past its timeout is killed and counts as a failure, as does a
worker that dies (a crash in native code: the note names the signal). An agent's error
text is scrubbed of secrets before it becomes a note (``runtime/secrets.py``). Inputs are
checked before any work: a missing file, a folder, a file that is not media or an image,
a document that is not UTF-8 text are errors that point at the RUN's argument. Progress
is reported as events (``runtime/progress.py``). Ctrl-C, and SIGTERM where the CLI turns
it into an interrupt (:func:`sigterm_interrupts`), stops the workers and leaves the cache
consistent (entries are written atomically). A worker never outlives the run, however the
run ends: it dies with its parent (``PR_SET_PDEATHSIG`` on Linux, a watch on
``os.getppid()`` elsewhere) and holds no read end of any pipe, so with the parent gone it
cannot block writing its answer. What the cache says about a shard's entries (one it did
not trust, an answer it did not store) comes back with the answer and becomes a note
prefixed ``cache:``; notes and outputs are scrubbed of secrets.

Along a streaming edge (``fuse_maps``) the downstream task starts before its upstream
task is done: as each upstream shard finishes, the items it produced go on to the
downstream shards that read them (``_tickets``). A real scene detector returns as many
scenes as it finds, so a downstream shard is a share of one upstream shard's items (or a
run of whole upstream shards), not a fixed item range; the outputs are the same, in the
same order, as if the edge were a barrier.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..catalog.catalog import LOCAL_GPU, Catalog, this_machine
from ..compiler.logical import INPUT, MAP, Node
from ..compiler.physical.accuracy import quality_function
from ..compiler.physical.cost import timeline_totals
from ..compiler.physical.plan import PhysicalPlan
from ..compiler.physical.replan import Replan
from ..compiler.probe import MEDIA_HINT, input_file_problem, unreadable_input
from ..compiler.units import counted
from ..grammar.diagnostics import MurakkabError
from .cache import Cache, Lookup, call_key, default_cache_dir, usable_cache_dir
from .executor import RunResult, ShardRun
from .lifetime import die_with_parent
from .progress import Kind, Progress, ProgressEvent
from .secrets import scrub

if TYPE_CHECKING:
    from .agents.registry import AgentSpec


MEDIA = {"VIDEO", "AUDIO", "SCENE", "MEDIA"}
LOCAL_CORE = "local-core"
POLL_S = 0.05


class ExecutionError(MurakkabError):
    """A task failed with every implementation the registry has for its interface."""


class RunInterrupted(MurakkabError):
    """Ctrl-C (SIGINT) or SIGTERM stopped the run; the workers are stopped and the cache
    is consistent. ``signum`` is the signal, so the exit code can be 128 + it, as shells
    report a process a signal ended."""

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.signum = int(signum)


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt by :func:`sigterm_interrupts` so that a run stops
    as on Ctrl-C: workers stopped, the cache consistent."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block (in the main thread), SIGTERM raises :class:`Terminated`, as
    SIGINT raises KeyboardInterrupt; the previous handler is restored after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(_signum: int, _frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class _Work:
    """One shard to run: an agent over a list of calls."""

    task: str
    index: int
    agent: str
    hardware: str
    units: int
    knobs: dict[str, Any]
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]]
    # Where its outputs go in the task's result: (shard,), or the upstream output's key
    # and a piece number for a piece of a streaming task.
    key: tuple[int, ...] = ()
    attempts: int = 0
    not_before: float = 0.0


@dataclass
class _Running:
    work: _Work
    handle: Any  # what the backend needs to wait for, collect and cancel the shard
    started: float
    deadline: float | None
    units: int  # held while it runs
    devices: tuple[int, ...]  # the GPUs it holds (none for cores)
    media_s: float | None = None  # media seconds per call, once known
    machine: str = "local#0"  # where it ran
    hits: int = 0  # calls its answer read from the cache


@dataclass
class _TaskState:
    node: Node
    agent: str
    hardware: str
    units: int
    fanout: int
    tried: list[str] = field(default_factory=list)
    started: bool = False
    # False while a streaming task may still get pieces from its upstream task.
    sealed: bool = True
    streamed: set[int] = field(default_factory=set)  # tickets (see _tickets) already queued
    shards: int = 0
    pending: int = 0
    outputs: dict[tuple[int, ...], list[Any]] = field(default_factory=dict)


@dataclass
class _Run:
    """Where one run stands: the tasks, what waits for inputs, what is queued."""

    states: dict[str, _TaskState]
    waiting: list[str]
    plan: PhysicalPlan
    values: dict[str, Any] = field(default_factory=dict)  # what is computed so far, by node id
    queue: list[_Work] = field(default_factory=list)
    timeline: list[ShardRun] = field(default_factory=list)
    done: int = 0
    dropped: set[str] = field(default_factory=set)
    replanned: PhysicalPlan | None = None

    def total(self) -> int:
        """The shards this run is known to have now: those of every task already cut into
        shards, plus one for each task not started yet that is sure to run (a task that
        is not a map makes one call; a map whose items are computed and not empty makes
        one shard at least, whatever its fan-out).

        A lower bound that never decreases, not the plan's fan-out: how many shards a map
        really has is known only once its items are (the scenes a detector finds, the
        chunks of a document), which may fill fewer shards than planned, and a streaming
        task is cut into shards piece by piece. Counting the planned fan-out until then
        made the total drop and rise again (``[1/5] [2/4] [3/5]``); this total only rises
        as the run learns its work, and equals ``done`` when the run ends.
        """
        return sum(s.shards if s.started else _sure_shards(s.node, self.values) for s in self.states.values())


class _Slots:
    """The units of this machine free now: cores by count, GPUs by device index, so a
    GPU shard is given its own devices (``CUDA_VISIBLE_DEVICES``) and no two shards share one."""

    def __init__(self, capacity: dict[str, int]) -> None:
        self.capacity = capacity
        self.busy = {hw: 0 for hw in capacity}
        self.free_gpus = list(range(capacity.get(LOCAL_GPU, 0)))

    def units(self, work: _Work) -> int:
        return min(work.units, self.capacity.get(work.hardware, 0))

    def take(self, work: _Work) -> tuple[int, tuple[int, ...]] | None:
        """(units, devices) for the shard, or None while they are not free."""
        units = self.units(work)
        if self.busy[work.hardware] + units > self.capacity[work.hardware]:
            return None
        self.busy[work.hardware] += units
        devices: tuple[int, ...] = ()
        if work.hardware == LOCAL_GPU:
            devices, self.free_gpus = tuple(self.free_gpus[:units]), self.free_gpus[units:]
        return units, devices

    def give(self, r: _Running) -> None:
        self.busy[r.work.hardware] -= r.units
        self.free_gpus = sorted(self.free_gpus + list(r.devices))


class ShardTimeout(BaseException):
    """A worker's own timer ran out (a BaseException, so an agent's ``except Exception``
    cannot swallow it)."""


@dataclass(frozen=True)
class ShardAnswer:
    """What a worker reports for one shard: ``status`` "ok" with the outputs as
    ``payload``, or "error" / "timeout" with the message; calls read from the cache; and
    what the cache had to say (entries it did not trust, answers it did not store)."""

    status: str
    payload: Any
    hits: int = 0
    cache_notes: tuple[str, ...] = ()


# Notes of one shard about its cache entries kept in full; the rest are counted (a cache
# folder full of foreign entries must not bury the other notes).
MAX_CACHE_NOTES = 3


def run_shard(agent: str | AgentSpec, knobs: dict[str, Any], calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
              cache_root: str | None, secret_names: tuple[str, ...] = ()) -> ShardAnswer:
    """Every call of one shard, through the cache. Runs in a worker (a child process, or
    a Ray task); ``agent`` is a registered name, or the spec itself where the worker
    cannot import it. ``secret_names`` are variables whose values the cache must not
    store (beside those ``runtime/secrets.py`` finds by name)."""
    try:
        from .agents import registry
        from .agents.media import media_beside

        spec = registry.get(agent) if isinstance(agent, str) else agent
        cache = Cache(Path(cache_root)) if cache_root else None
        out, hits, notes = [], 0, []
        settings = spec.settings()
        secrets = (*secret_names, knobs.get("api_key_env"))
        with media_beside(cache_root):
            for args, extra in calls:
                call_knobs = {**knobs, **extra}
                key = call_key(spec.name, spec.version, call_knobs, args, settings)
                found = cache.lookup(key) if cache else Lookup(Cache.MISSING)
                if found.note:
                    notes.append(found.note)
                value = found.value
                if value is Cache.MISSING:
                    value = spec(*args, **call_knobs)
                    note = cache.put(key, value, secrets) if cache else None
                    if note:
                        notes.append(note)
                else:
                    hits += 1
                out.append(value)
        more = len(notes) - MAX_CACHE_NOTES
        kept = notes[:MAX_CACHE_NOTES] + ([f"and {more} more such notes about cache entries"] if more > 0 else [])
        return ShardAnswer("ok", out, hits, tuple(kept))
    except ShardTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return ShardAnswer("error", f"{type(exc).__name__}: {message}")


def _worker(agent: str, knobs: dict[str, Any], calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
            cache_root: str | None, gpus: str | None, conn: Connection, secret_names: tuple[str, ...],
            parent_pid: int, inherited: tuple[Connection, ...],
            fresh: tuple[dict[str, str], str] | None = None) -> None:
    """The body of a child process: one shard, its answer sent down the pipe.

    Ctrl-C is the parent's to handle (it reaches the whole process group): the worker
    ignores SIGINT, and the parent stops it with SIGTERM, which unwinds the worker so a
    cache entry being written is removed rather than left half-written. A worker never
    outlives its parent: it dies with it (:func:`runtime.lifetime.die_with_parent`), and it closes the read
    ends of pipes it inherited (``inherited``: its own and other workers'), so that with
    the parent gone, sending the answer fails at once rather than blocking forever on a
    pipe the worker itself would be the only reader of.

    A worker started by the fork server (``fresh``: the caller's environment and working
    folder, which the server's children would not otherwise have) is a child of the
    server, not of the caller: it dies with the server, which exits when the caller does."""
    for c in inherited:
        c.close()
    if fresh is not None:
        environ, cwd = fresh
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        die_with_parent(os.getppid(), also=parent_pid)
    else:
        die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    try:
        conn.send(run_shard(agent, knobs, calls, cache_root, secret_names))
    finally:
        conn.close()


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _fork_server() -> Any:
    """The multiprocessing context whose processes the fork server starts (one server per
    process, started on first use). The server imports the built-in agents' modules once
    (importing runs none), so each worker it starts begins warm."""
    from .agents.registry import BUILTIN_AGENTS

    ctx = mp.get_context("forkserver")
    modules = sorted({f"{__package__}.agents.{m}" for m in BUILTIN_AGENTS.values()})
    ctx.set_forkserver_preload([__name__, *modules])
    return ctx


# How long a stopped worker gets to unwind before it is killed.
STOP_GRACE_S = 2.0


class LocalExecutor:
    name = "local"

    def __init__(self, catalog: Catalog, cache_dir: Path | None = None, retries: int = 2, backoff_s: float = 0.2,
                 timeout_s: float | None = None, cores: int | None = None, progress: Progress | None = None,
                 use_cache: bool = True, available: frozenset[str] | None = None,
                 replan: Callable[[frozenset[str]], Replan] | None = None) -> None:
        self.catalog = catalog
        self.available = available
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        if use_cache:
            usable_cache_dir(self.cache_dir)
        self.use_cache = use_cache
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        machine = this_machine()
        self.cores = cores or machine.cores
        self.gpus = machine.gpus
        self.capacity = {LOCAL_CORE: self.cores, **({LOCAL_GPU: self.gpus} if self.gpus else {})}
        self.progress = progress or (lambda _event: None)
        # Plans the job again without the given agents (``compiler/physical/replan.py``);
        # without it a replaced agent's task takes the registry's best other implementation.
        self.replan = replan
        self.notes: list[str] = []
        # The variables the catalog says hold agents' API keys (their values are scrubbed).
        self._key_variables = tuple(sorted({a.api_key_env for a in catalog.agents() if a.api_key_env}))
        self.cache_hits = 0
        self._forks = hasattr(os, "fork")
        self._ctx = mp.get_context("fork" if self._forks else "spawn")
        # Built-in agents run in children of a fork server: a fresh process that imported
        # the agents but ran none, so a library that started threads in this process
        # (OpenCV's pool, after an agent ran here) cannot leave a child forked mid-state
        # (a SIGSEGV in cv2). A user's agent is forked from here, where its module is.
        self._server = _fork_server() if self._forks else None
        self._reading: set[Connection] = set()  # read ends of the running workers' pipes

    # -- values ---------------------------------------------------------------------
    def _input_value(self, node: Node) -> Any:
        from .agents.errors import MediaError
        from .agents.values import Clip, Document, Frame

        literal = node.literal
        elem = node.type.elem if node.type.is_list and node.type.elem is not None else node.type

        def convert(v: Any) -> Any:
            if elem.name in MEDIA | {"IMAGE", "DOCUMENT"} and isinstance(v, str):
                # Checked here, where the error can point at the input, rather than by each
                # agent that reads it (after retries, as if the agent were at fault); the
                # binder checks the same for EXPLAIN (``compiler/probe.unreadable_input``).
                problem = input_file_problem(v) or (unreadable_input(v, elem.name) if elem.name != "IMAGE" else None)
                if problem is not None:
                    raise MurakkabError(problem[0], node.span, problem[1])
                if elem.name == "DOCUMENT":
                    return Document(os.path.abspath(v))
                try:
                    if elem.name == "IMAGE":
                        return Frame.still(os.path.abspath(v))
                    return Clip.whole(os.path.abspath(v))
                except MediaError as exc:
                    kind = "an image" if elem.name == "IMAGE" else "a media file"
                    raise MurakkabError(f"{v} is not {kind} this machine can read: {exc.message}", node.span,
                                        "pass an image file (PNG, JPEG, ...)" if elem.name == "IMAGE" else
                                        MEDIA_HINT) from None
            return v

        if node.type.is_list:
            return [convert(v) for v in (literal or ())]
        return convert(literal)

    def _interface_returns_list(self, node: Node) -> bool:
        iface = self.catalog.interface(node.interface or "")
        return bool(iface and iface.output.is_list)

    def _calls(self, node: Node, values: dict[str, Any],
               items: list[Any] | None = None) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """(positional arguments, per-call knobs) of every call of a task (of a map, over
        ``items`` when given: a streamed piece's share of the items)."""
        if node.op != MAP:
            return [(tuple(values[i] for i in node.inputs), {})]
        items = values[node.over] if items is None else items
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
        states = {}
        for n in plan.logical.tasks:
            c = tasks[n.id].candidate
            if self.capacity.get(c.hardware, 0) < 1:
                raise ExecutionError(f"task '{n.id}' is planned on {c.hardware}, which this machine does not have",
                                     n.span, "plan it on the cluster 'local' (murakkab run does so)")
            states[n.id] = _TaskState(n, c.agent, c.hardware, c.units, c.fanout)
        run = _Run(states, [n.id for n in plan.logical.tasks], plan, values)
        running: list[_Running] = []
        slots = _Slots(self.capacity)
        try:
            while run.waiting or run.queue or running:
                # Tasks whose inputs are all computed become shards.
                for task_id in list(run.waiting):
                    state = states[task_id]
                    if all(i in values for i in state.node.inputs):
                        run.waiting.remove(task_id)
                        if state.started:  # streaming: the upstream task is done, pieces are all known
                            self._stream(state, states, values, run.queue)
                            state.sealed = True
                        else:
                            self._start_task(state, values, run.queue)
                        if state.pending == 0:
                            values[task_id] = self._assemble(state)
                    elif self._streams(state, states, values):
                        # Along a streaming edge: items of finished upstream shards go on now.
                        self._stream(state, states, values, run.queue)
                now = time.monotonic()
                # Start what fits, in plan order.
                for work in list(run.queue):
                    held = slots.take(work) if work.not_before <= now else None
                    if held is not None:
                        run.queue.remove(work)
                        running.append(self._spawn(work, *held))
                        self._tell(run, "start", work, f"{work.task} shard {work.index + 1} started on {work.agent}")
                if not running:
                    if run.queue:
                        time.sleep(min(POLL_S, max(0.0, min(w.not_before for w in run.queue) - now)))
                    continue
                ready = self._wait(running, POLL_S)
                now = time.monotonic()
                for r in list(running):
                    timed_out = r.deadline is not None and now > r.deadline
                    if r not in ready and not timed_out:
                        continue
                    running.remove(r)
                    slots.give(r)
                    outcome = self._collect(r, timed_out)
                    state = states[r.work.task]
                    if outcome is None:
                        self._failed(r.work, run)
                        continue
                    state.outputs[r.work.key] = outcome
                    state.pending -= 1
                    run.done += 1
                    run.timeline.append(ShardRun(r.work.task, r.work.index, r.work.agent, r.machine, r.work.hardware,
                                                 r.units, float(len(r.work.calls)), r.started - t0, now - t0,
                                                 r.media_s, float(r.hits)))
                    self._tell(run, "done", r.work, f"{r.work.task} shard {r.work.index + 1} done by "
                                                    f"{r.work.agent} in {now - r.started:.2f} s")
                    if state.pending == 0 and state.sealed:
                        values[r.work.task] = self._assemble(state)
        except KeyboardInterrupt as exc:
            for r in running:
                self._cancel(r)
            stopped_by = "terminated" if isinstance(exc, Terminated) else "interrupted"
            raise RunInterrupted(f"{stopped_by}: the finished calls are cached and a re-run resumes from them",
                                 signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT) from None
        timeline = sorted(run.timeline, key=lambda s: (s.start_s, s.task, s.index))
        totals = self._totals(plan, timeline)
        # An answer, like an error, is an agent's text and may quote a key it was given.
        outputs = tuple((i, scrub(_text(self._resolve(values[i])), self._key_variables))
                        for i in plan.logical.output.inputs)
        items = tuple((n.id, len(values[n.id])) for n in plan.logical.tasks if isinstance(values[n.id], list))
        notes = tuple(scrub(n, self._key_variables) for n in self.notes)
        return RunResult(self.name, plan.job, totals, tuple(timeline), len(timeline), outputs,
                         notes, self.cache_hits, run.replanned, items)

    def _tell(self, run: _Run, kind: Kind, work: _Work, message: str) -> None:
        self.progress(ProgressEvent(kind, run.plan.job, work.task, work.index, work.agent, run.done, run.total(), message))

    def _start_task(self, state: _TaskState, values: dict[str, Any], queue: list[_Work]) -> None:
        calls = self._calls(state.node, values)
        state.outputs.clear()
        state.started = True
        if not calls:
            state.pending = state.shards = 0
            return
        k = max(1, min(state.fanout, len(calls)))
        size = math.ceil(len(calls) / k)
        slices = [calls[i:i + size] for i in range(0, len(calls), size)]
        state.pending = state.shards = len(slices)
        knobs = _call_knobs(state.node)
        for i, part in enumerate(slices):
            queue.append(_Work(state.node.id, i, state.agent, state.hardware, state.units, knobs, part, (i,)))

    # -- streaming edges ------------------------------------------------------------------
    def _streams(self, state: _TaskState, states: dict[str, _TaskState], values: dict[str, Any]) -> bool:
        """Can ``state`` take items from finished shards of the task it streams from
        (``fuse_maps``) before that task is done? Only a plain map over that task's items,
        once its other inputs are computed, from a task whose shards are all known."""
        node = state.node
        src = node.streams_from
        if node.op != MAP or src is None or node.over != src or node.votes or src not in states:
            return False
        upstream = states[src]
        if not (upstream.started and upstream.sealed and all(i in values for i in node.inputs if i != src)):
            return False
        return any(t not in state.streamed and all((i,) in upstream.outputs for i in shards)
                   for t, (shards, _, _) in enumerate(_tickets(upstream.shards, state.fanout)))

    def _stream(self, state: _TaskState, states: dict[str, _TaskState], values: dict[str, Any],
                queue: list[_Work]) -> None:
        """The shards of ``state`` whose upstream shards have all finished. As in the
        plan, the task has ``fanout`` shards over the upstream task's items: each takes
        a share of one upstream shard's items, or all the items of a few (``_tickets``)."""
        upstream = states[state.node.over or ""]
        if not state.started:
            state.started, state.sealed = True, False
            state.outputs.clear()
        knobs = _call_knobs(state.node)
        returns_list = self._interface_returns_list(upstream.node)
        for t, (shards, piece, pieces) in enumerate(_tickets(upstream.shards, state.fanout)):
            if t in state.streamed or not all((i,) in upstream.outputs for i in shards):
                continue
            state.streamed.add(t)
            outputs = [out for i in shards for out in upstream.outputs[(i,)]]
            items = [x for out in outputs for x in out] if returns_list else outputs
            size = math.ceil(len(items) / pieces) if items else 0
            calls = self._calls(state.node, values, items[piece * size:(piece + 1) * size])
            if calls:
                queue.append(_Work(state.node.id, state.shards, state.agent, state.hardware, state.units, knobs,
                                   calls, (shards[0], piece)))
                state.shards += 1
                state.pending += 1

    def _agent_knobs(self, work: _Work) -> dict[str, Any]:
        """The shard's knobs, and the catalog's word on its agent: the name of the
        environment variable its API key is read from (``agents.api_key_env``), for an
        agent that takes one. Only the name travels; the key stays in the environment."""
        from .agents import registry

        row = self.catalog.agent(work.agent)
        if row and row.api_key_env and "api_key_env" in registry.get(work.agent).knobs:
            return {**work.knobs, "api_key_env": row.api_key_env}
        return work.knobs

    # -- the worker backend: child processes (RayExecutor overrides these five) ---------
    def _spawn(self, work: _Work, units: int, devices: tuple[int, ...]) -> _Running:
        from .agents import registry

        served = self._server is not None and registry.is_builtin(work.agent)
        ctx = self._server if served else self._ctx
        assert ctx is not None
        parent, child = ctx.Pipe(duplex=False)
        gpus = ",".join(map(str, devices)) if work.hardware == LOCAL_GPU else None
        # A forked child inherits every descriptor: the read ends of its own and the other
        # running workers' pipes are closed there (a spawned or served child inherits none).
        # (The Connections themselves, closed through them so that nothing closes the
        # descriptor again later, when its number may belong to something else.)
        inherited = (*self._reading, parent) if self._forks and not served else ()
        fresh = (dict(os.environ), os.getcwd()) if served else None
        process = ctx.Process(
            target=_worker, args=(work.agent, self._agent_knobs(work), work.calls,
                                  str(self.cache_dir) if self.use_cache else None, gpus, child,
                                  self._key_variables, os.getpid(), inherited, fresh), daemon=True)
        process.start()
        child.close()
        self._reading.add(parent)
        now = time.monotonic()
        return _Running(work, (process, parent), now, now + self.timeout_s if self.timeout_s else None, units,
                        devices)

    def _wait(self, running: list[_Running], timeout: float) -> list[_Running]:
        ready = wait([r.handle[1] for r in running], timeout=timeout)
        return [r for r in running if r.handle[1] in ready]

    def _answer(self, r: _Running) -> ShardAnswer:
        process, conn = r.handle
        try:
            answer = conn.recv()
        except EOFError:
            process.join(timeout=1.0)  # the pipe closes a moment before the process is reaped
            answer = ShardAnswer("error", f"the worker died ({_death(process.exitcode)})")
        finally:
            self._done_reading(conn)
        process.join()
        r.media_s = _media_per_call(r.work.calls)
        return answer

    def _done_reading(self, conn: Connection) -> None:
        self._reading.discard(conn)
        conn.close()

    def _resolve(self, value: Any) -> Any:
        """A value as the job returns it (outputs live in this process already)."""
        return value

    def _cancel(self, r: _Running) -> None:
        process, conn = r.handle
        process.terminate()
        process.join(STOP_GRACE_S)
        if process.is_alive():  # stuck in native code that never returns to Python
            process.kill()
            process.join()
        self._done_reading(conn)

    # -- failures -------------------------------------------------------------------
    def _collect(self, r: _Running, timed_out: bool) -> list[Any] | None:
        if timed_out:
            self._cancel(r)
        answer = ShardAnswer("timeout", None) if timed_out else self._answer(r)
        status, payload = answer.status, answer.payload
        # Prefixed "cache:" so the notes of a task's failures (see _failed) never include them.
        self.notes.extend(f"cache: {r.work.task} shard {r.work.index + 1}: {n}" for n in answer.cache_notes)
        if status == "timeout":  # the deadline passed here, or the worker's own timer fired
            self.notes.append(f"{r.work.task} shard {r.work.index + 1}: {r.work.agent} timed out after "
                              f"{self.timeout_s:g} s")
            return None
        if status == "ok":
            self.cache_hits += answer.hits
            r.hits = answer.hits
            return payload
        # An agent's error text may quote a key it was given: notes reach the output, the
        # final error and the trace.
        self.notes.append(f"{r.work.task} shard {r.work.index + 1}: {r.work.agent} failed: "
                          f"{scrub(str(payload), self._key_variables)}")
        return None

    def _failed(self, work: _Work, run: _Run) -> None:
        work.attempts += 1
        if work.attempts <= self.retries:
            work.not_before = time.monotonic() + self.backoff_s * 2 ** (work.attempts - 1)
            run.queue.append(work)
            self._tell(run, "retry", work, f"{work.task} shard {work.index + 1}: {work.agent} failed, "
                                           f"retry {work.attempts} of {self.retries}")
            return
        state = run.states[work.task]
        if work.agent != state.agent:
            # Another shard already gave up on this agent and the task moved on.
            run.queue.append(_Work(work.task, work.index, state.agent, state.hardware, state.units, work.knobs,
                                   work.calls, work.key))
            return
        # Retries spent: the agent is dropped and the rest of the plan re-planned without it.
        run.dropped.add(work.agent)
        if not self._adopt_replan(run, work) and not self._next_in_registry(state):
            failures = [n.split(": ", 1)[1] for n in self.notes if n.startswith(f"{work.task} shard ")]
            last = f"; last failure: {failures[-1]}" if failures else ""
            raise ExecutionError(
                f"task '{state.node.id}' failed with every implementation of {state.node.interface}: "
                f"{', '.join(state.tried + [state.agent])}{last}", state.node.span,
                "fix the agent or its input and run again (finished calls are cached)")
        run.queue.append(_Work(work.task, work.index, state.agent, state.hardware, state.units, work.knobs,
                               work.calls, work.key))
        # Queued shards of tasks whose agent is gone take their task's new agent too.
        for queued in run.queue:
            if queued.agent in run.dropped:
                moved = run.states[queued.task]
                queued.agent, queued.hardware, queued.units = moved.agent, moved.hardware, moved.units
        self._tell(run, "replan", work, self.notes[-1])

    def _adopt_replan(self, run: _Run, failed: _Work) -> bool:
        """Re-plan without the dropped agents; the failing task and every task not yet
        started take the new plan's configuration. False when there is no re-planner or
        the new plan cannot serve the failing task."""
        if self.replan is None:
            return False
        try:
            new = self.replan(frozenset(run.dropped))
        except MurakkabError as exc:
            self.notes.append(f"re-planning without {', '.join(sorted(run.dropped))} failed: {exc.message}")
            return False
        chosen = {t.id: t.candidate for t in new.plan.tasks}
        if failed.task not in chosen:
            return False
        changes = []
        for task_id, state in run.states.items():
            cand = chosen.get(task_id)
            movable = not state.started or state.agent in run.dropped
            if cand is None or not movable:
                continue
            before = _config(state)
            if state.agent != cand.agent:
                state.tried.append(state.agent)
            state.agent, state.hardware, state.units = cand.agent, cand.hardware, cand.units
            if not state.started:
                state.fanout = cand.fanout
            after = _config(state)
            if before != after:
                changes.append(f"{task_id} {before} -> {after}")
        run.replanned = new.plan
        relaxed = "".join(f"; {r}" for r in new.relaxed)
        tries = counted(self.retries, 'retry', 'retries')
        self.notes.append(f"{failed.task}: gave up on {failed.agent} after {tries}; re-planned the "
                          f"rest without {', '.join(sorted(run.dropped))}: {', '.join(changes) or 'no change'}"
                          f"{relaxed}")
        return True

    def _next_in_registry(self, state: _TaskState) -> bool:
        """Hand the task to the best other registered implementation of its interface."""
        from .agents import registry

        tried = set(state.tried) | {state.agent}
        options = []
        for spec in registry.registered(state.node.interface):
            if spec.name in tried or (self.available is not None and spec.name not in self.available):
                continue
            agent = self.catalog.agent(spec.name)
            options.append((-(agent.quality if agent else 0.0), spec.name))
        if not options:
            return False
        replacement = min(options)[1]
        tries = counted(self.retries, 'retry', 'retries')
        self.notes.append(f"{state.node.id}: replaced {state.agent} by {replacement} after {tries}")
        state.tried.append(state.agent)
        # A registered agent the catalog has no profile for runs on one core.
        state.agent, state.hardware, state.units = replacement, LOCAL_CORE, 1
        return True

    def _assemble(self, state: _TaskState) -> Any:
        parts = [v for i in sorted(state.outputs) for v in state.outputs[i]]
        if state.node.op != MAP:
            return parts[0] if parts else None
        if self._interface_returns_list(state.node):
            return [x for part in parts for x in part]
        return parts

    def _totals(self, plan: PhysicalPlan, timeline: list[ShardRun]):
        watts = {name: hw.active_w for name in self.capacity if (hw := self.catalog.hardware(name))}
        if not all(r.hardware in watts for r in timeline):
            return plan.estimate
        rows = [(r.machine, r.hardware, r.start_s, r.end_s, r.units, watts[r.hardware]) for r in timeline]
        return timeline_totals(self.catalog, rows, self._quality(plan, timeline))

    def _quality(self, plan: PhysicalPlan, timeline: list[ShardRun]) -> float:
        """The plan's quality with the agents that really ran: a task an agent was replaced
        in counts at the quality of the weakest agent that answered for it, on the plan's
        own quality scale (a workflow accuracy profile where one applies)."""
        agent_quality = quality_function(plan.logical, self.catalog)
        quality = 1.0
        for t in plan.tasks:
            ran = {r.agent for r in timeline if r.task == t.id} or {t.candidate.agent}
            quality *= min(t.candidate.quality if a == t.candidate.agent or (row := self.catalog.agent(a)) is None
                           else agent_quality(plan.logical.node(t.id), row) for a in ran)
        return quality


def _sure_shards(node: Node, values: dict[str, Any]) -> int:
    """Shards a task not started yet is sure to have: 1 for a single call (not a map) or
    a map over computed items that are not empty (any fan-out cuts them into one shard at
    least), else 0 (its items are not known yet, or there are none)."""
    return 1 if node.op != MAP or values.get(node.over or "") else 0


def _call_knobs(node: Node) -> dict[str, Any]:
    """The task's knobs as an agent takes them (a whole number as an int: 3, not 3.0)."""
    return {name: int(v) if float(v).is_integer() else v for name, v in node.knobs}


def _death(exitcode: int | None) -> str:
    """How a worker process ended, in words: 'killed by SIGSEGV', 'exit code 1'."""
    if exitcode is None:
        return "still exiting"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _tickets(upstream: int, fanout: int) -> list[tuple[tuple[int, ...], int, int]]:
    """How a streaming task's ``fanout`` shards take the items of ``upstream`` shards:
    (upstream shards it reads, piece, pieces) per shard, in item order. With more shards
    than upstream shards, each upstream shard's items are cut into pieces; with fewer,
    a shard reads a run of whole upstream shards (and waits for all of them)."""
    if upstream <= 0:
        return []
    if fanout >= upstream:
        out = []
        for i in range(upstream):
            pieces = sum(1 for j in range(fanout) if j * upstream // fanout == i)
            out.extend(((i,), q, pieces) for q in range(pieces))
        return out
    return [(tuple(i for i in range(upstream) if i * fanout // upstream == j), 0, 1) for j in range(fanout)]


def _media_per_call(calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> float | None:
    """Mean seconds of media per call: the first clip among each call's arguments."""
    from .agents.values import Clip

    seconds = [next((a.duration_s for a in args if isinstance(a, Clip)), None) for args, _ in calls]
    measured = [x for x in seconds if x is not None]
    return sum(measured) / len(measured) if measured and len(measured) == len(seconds) else None


def _config(state: _TaskState) -> str:
    """A task's configuration in words, for the notes."""
    fanout = "" if state.started else f" fan-out {state.fanout}"
    return f"{state.agent} on {state.hardware} x{state.units}{fanout}"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return repr(value)

