"""The Ray executor: the same plan, shards as Ray tasks on a Ray cluster.

A shard becomes a Ray task with ``num_cpus`` = its units (``num_gpus`` for GPU
hardware, plus a token of the cluster's ``accelerator_type:<model>`` resource when the
planned GPU model has one, so the task lands on that model), running the same worker
body as the local executor (``run_shard``): the same agents, the same content-addressed
cache on a shared path, so the outputs are identical. Outputs pass as object
references: a shard's outputs stay in Ray's object store, the driver receives only a
summary (status, list lengths, cache hits), and downstream shards get references
(``StoredOutput``) that they fetch themselves; the driver fetches the job's results
alone. ``address`` joins an existing cluster; without it a local Ray instance is started
with this machine's cores and GPUs. The job is planned on the cluster Ray reports
(``ray_cluster``: every live node's CPUs, and GPUs the catalog has a profile hardware
for), and each shard's timeline entry names the node it ran on. Everything else (data
flow, retries and re-planning, observations) is the local executor's: only where shards
run changes. A timeout counts from when the task starts on its worker (a timer in the
task), with the driver's deadline as a backstop that allows for scheduling. A built-in
agent travels by name (the workers import it); any other goes as its registered spec,
and a module loaded from a file (``--agents my_agents.py``) is pickled by value, so the
workers need not be able to import it. Ray is an extra: ``pip install 'murakkab[ray]'``.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..catalog.catalog import LOCAL_GPU, Catalog, Cluster, ClusterNode
from ..compiler.physical.replan import Replan
from ..grammar.diagnostics import MurakkabError
from .local import LocalExecutor, ShardAnswer, ShardTimeout, _media_per_call, _Running, _Work, run_shard
from .progress import Progress

if TYPE_CHECKING:
    from .agents.registry import AgentSpec


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MurakkabError("the Ray backend needs Ray", hint="pip install 'murakkab[ray]'") from None
    return ray


class RayExecutor(LocalExecutor):
    name = "ray"

    def __init__(self, catalog: Catalog, address: str | None = None, cache_dir: Path | None = None,
                 retries: int = 2, timeout_s: float | None = None, cores: int | None = None,
                 progress: Progress | None = None, use_cache: bool = True,
                 available: frozenset[str] | None = None,
                 replan: Callable[[frozenset[str]], Replan] | None = None) -> None:
        super().__init__(catalog, cache_dir=cache_dir, retries=retries, timeout_s=timeout_s, cores=cores,
                         progress=progress, use_cache=use_cache, available=available, replan=replan)
        ray = connect(address, self.cores, self.gpus)
        # Shards may use every unit of the cluster (Ray places each on a node with room).
        cluster = ray_cluster(catalog)
        self.capacity = {hw: cluster.capacity(hw) for hw in cluster.hardware_names()}
        self._remote = ray.remote(num_returns=2)(_ray_shard)
        # Outputs the driver fetched from the object store: only the job's results.
        self.driver_fetches = 0
        # The GPU models the cluster has, as Ray labels them ("accelerator_type:H100").
        self._accelerators = sorted(k for k in ray.cluster_resources() if k.startswith(ACCELERATOR_PREFIX))

    def _spawn(self, work: _Work, units: int, devices: tuple[int, ...]) -> _Running:
        # Ray picks the devices of a GPU task itself (and sets CUDA_VISIBLE_DEVICES).
        hw = self.catalog.hardware(work.hardware)
        options: dict[str, Any] = {"num_cpus": units}
        if hw and hw.is_gpu:
            options = {"num_gpus": units}
            accelerator = accelerator_resource(hw.name, hw.description, self._accelerators)
            if accelerator:
                # A token of the resource pins the task to nodes with the planned GPU model.
                options["resources"] = {accelerator: 0.001}
        meta, payload = self._remote.options(**options, max_retries=0).remote(
            _shipped(work.agent), self._agent_knobs(work), work.calls, str(self.cache_dir) if self.use_cache else None,
            self.timeout_s, self._key_variables)
        now = time.monotonic()
        # The task times itself from when it starts on its worker; the driver's deadline
        # is a backstop (an agent stuck in native code) that also allows for scheduling
        # and starting a worker, which can take seconds.
        deadline = now + self.timeout_s + SCHEDULING_GRACE_S if self.timeout_s else None
        return _Running(work, (meta, payload), now, deadline, units, devices)

    def _wait(self, running: list[_Running], timeout: float) -> list[_Running]:
        ray = _ray()
        done, _ = ray.wait([r.handle[0] for r in running], num_returns=len(running), timeout=timeout)
        return [r for r in running if r.handle[0] in done]

    def _answer(self, r: _Running) -> ShardAnswer:
        """Only the shard's small summary comes to the driver; its outputs stay in the
        object store, and the values that flow on are references into them."""
        ray = _ray()
        meta, payload = r.handle
        try:
            status, detail, hits, media_s, node, notes = ray.get(meta)
        except Exception as exc:  # noqa: BLE001 - a worker that died is a failed shard
            return ShardAnswer("error", f"the Ray task failed: {type(exc).__name__}")
        if status != "ok":
            return ShardAnswer(status, detail, hits, notes)
        r.media_s, r.machine = media_s, node
        return ShardAnswer("ok", [StoredOutput(payload, call, None) if length is None else
                                  [StoredOutput(payload, call, k) for k in range(length)]
                                  for call, length in enumerate(detail)], hits, notes)

    def _resolve(self, value: Any) -> Any:
        self.driver_fetches += len(_refs(value))
        return _resolved(value, _fetch(_refs(value)))

    def _cancel(self, r: _Running) -> None:
        _ray().cancel(r.handle[0], force=True)


@dataclass(frozen=True)
class StoredOutput:
    """A task output left in Ray's object store: call ``call`` of a shard's outputs
    (``payload``, an object reference), element ``element`` of it when that output is a
    list. Shards receive these in their arguments and fetch what they read themselves."""

    payload: Any
    call: int
    element: int | None


def _refs(value: Any) -> list[Any]:
    """The distinct object references a value points into, in first-seen order."""
    found: dict[Any, None] = {}

    def walk(v: Any) -> None:
        if isinstance(v, StoredOutput):
            found.setdefault(v.payload)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(value)
    return list(found)


def _fetch(refs: list[Any]) -> dict[Any, Any]:
    return dict(zip(refs, _ray().get(refs))) if refs else {}


def _resolved(value: Any, fetched: dict[Any, Any]) -> Any:
    """``value`` with every StoredOutput replaced by what it points at."""
    if isinstance(value, StoredOutput):
        out = fetched[value.payload][value.call]
        return out if value.element is None else out[value.element]
    if isinstance(value, list):
        return [_resolved(v, fetched) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolved(v, fetched) for v in value)
    if isinstance(value, dict):
        return {k: _resolved(v, fetched) for k, v in value.items()}
    return value


def _shipped(agent: str) -> str | AgentSpec:
    """What a Ray task is given to find its agent: a built-in's name (the worker imports
    it), else the registered spec itself, pickled with its function. A function from a
    module loaded from a file (``--agents my_agents.py``) is on no worker's import path,
    so its module is pickled by value."""
    import sys

    from .agents import registry

    if registry.is_builtin(agent):
        return agent
    spec = registry.get(agent)
    module = getattr(spec.fn, "__module__", "") or ""
    if module.startswith(registry.USER_MODULE_PREFIX) and module in sys.modules:
        _ray().cloudpickle.register_pickle_by_value(sys.modules[module])
    return spec


def _ray_shard(agent: str | AgentSpec, knobs: dict[str, Any], calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
               cache_root: str | None, timeout_s: float | None = None, secret_names: tuple[str, ...] = ()
               ) -> tuple[tuple[str, Any, int, float | None, str | None, tuple[str, ...]], list[Any] | None]:
    """The body of a shard's Ray task: fetch the stored outputs its calls read, run them
    through the cache as the local executor does (``run_shard``) within ``timeout_s`` of
    starting, and return a small summary (status, the length of each list output, cache
    hits, media seconds per call, node, the cache's notes) beside the outputs, which stay
    in the object store."""
    try:
        with _timer(timeout_s):
            fetched = _fetch(_refs(calls))
            calls = [(_resolved(args, fetched), extra) for args, extra in calls]
            answer = run_shard(agent, knobs, calls, cache_root, secret_names)
    except ShardTimeout:
        return ("timeout", None, 0, None, None, ()), None
    if answer.status != "ok":
        return (answer.status, answer.payload, answer.hits, None, None, answer.cache_notes), None
    lengths = [len(out) if isinstance(out, list) else None for out in answer.payload]
    node = _ray().util.get_node_ip_address()
    return ("ok", lengths, answer.hits, _media_per_call(calls), node, answer.cache_notes), answer.payload


# Seconds the driver allows beyond --timeout for Ray to schedule a task and start its
# worker before it cancels the task itself.
SCHEDULING_GRACE_S = 30.0


@contextmanager
def _timer(timeout_s: float | None) -> Iterator[None]:
    """Raise :class:`ShardTimeout` in this (the worker's main) thread after ``timeout_s``;
    where no timer can be set (not the main thread), the driver's deadline still holds."""
    if not timeout_s or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise ShardTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


ACCELERATOR_PREFIX = "accelerator_type:"


def accelerator_resource(name: str, description: str, resources: list[str]) -> str | None:
    """The Ray accelerator-type resource of a catalog GPU: the most specific label
    (longest, e.g. ``A100-80G`` over ``A100``) whose model the hardware's name or
    description mentions; None when the cluster has no such GPU label."""
    words = _normal(f"{name} {description}")
    found = [r for r in resources
             if re.search(rf"\b{re.escape(_normal(r[len(ACCELERATOR_PREFIX):]))}\b", words)]
    return max(found, key=lambda r: (len(r), r), default=None)


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


RAY_CLUSTER = "ray"


def connect(address: str | None, cores: int, gpus: int) -> Any:
    """Ray, connected: to the cluster at ``address``, else to a local instance started
    with this machine's cores and GPUs (a connection already made is kept)."""
    ray = _ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            _check_reachable(address)
        try:
            if address:
                ray.init(address=address, **kwargs)
            else:
                # A new local instance gets Ray's default token authentication; its
                # warning that it chose that default is not the user's business.
                logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
                ray.init(num_cpus=cores, num_gpus=gpus, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise MurakkabError(f"cannot connect to Ray{f' at {address}' if address else ''}: {exc}",
                                hint="start the cluster (ray start --head) or leave out --address") from None
    return ray


# Seconds to wait for a TCP connection to a named cluster before calling it unreachable
# (ray.init itself retries an unreachable head for a minute or more).
REACH_TIMEOUT_S = 5.0


def _check_reachable(address: str) -> None:
    """Fail fast, with a clear error, when ``address`` ('host:port' or 'ray://host:port')
    names a head nothing listens on; other forms ('auto', 'local') are Ray's to resolve."""
    import socket
    import urllib.parse

    parsed = urllib.parse.urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host, port = None, None
    if host is None or port is None:
        if address in ("auto", "local"):
            return
        raise MurakkabError(f"'{address}' is not a Ray cluster address",
                            hint="give host:port of the head node (e.g. 10.0.0.5:6379), ray://host:10001, or auto")
    try:
        with socket.create_connection((host, port), timeout=REACH_TIMEOUT_S):
            pass
    except OSError as exc:
        raise MurakkabError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}",
                            hint="start it (ray start --head) or check the address; leave out --address "
                                 "to start one on this machine") from None


def ray_cluster(catalog: Catalog) -> Cluster:
    """The connected Ray cluster as a catalog cluster named 'ray' (attached to
    ``catalog`` for this session): each live node's CPUs as units of this machine's core
    type, its GPUs as ``local-gpu`` when the catalog knows that hardware."""
    ray = _ray()
    cluster = cluster_from_nodes(ray.nodes(), gpu_known=catalog.hardware(LOCAL_GPU) is not None)
    catalog.attach_cluster(cluster)
    return cluster


def cluster_from_nodes(nodes: list[dict[str, Any]], gpu_known: bool) -> Cluster:
    """A cluster from ``ray.nodes()``: one machine per live node (named by its address),
    its whole CPUs and GPUs. Without a profile for the GPUs' hardware the planner could
    not use them, so they are left out unless ``gpu_known``."""
    members = []
    for node in nodes:
        if not node.get("Alive", False):
            continue
        name = str(node.get("NodeManagerAddress") or node.get("NodeID", "node"))
        resources = node.get("Resources", {})
        cpus, gpus = int(resources.get("CPU", 0)), int(resources.get("GPU", 0))
        if cpus > 0:
            members.append(ClusterNode(name, 1, "local-core", cpus))
        if gpus > 0 and gpu_known:
            members.append(ClusterNode(name, 1, LOCAL_GPU, gpus))
    if not members:
        raise MurakkabError("the Ray cluster has no live node with CPUs", hint="check `ray status`")
    # Nodes of one address (several raylets on a host) become one machine each.
    seen: dict[tuple[str, str], int] = {}
    unique = []
    for m in members:
        k = seen.get((m.node, m.hardware), 0)
        seen[(m.node, m.hardware)] = k + 1
        unique.append(ClusterNode(m.node if k == 0 else f"{m.node}/{k}", 1, m.hardware, m.units))
    return Cluster(RAY_CLUSTER, "the Ray cluster murakkab is connected to, read when it connected", tuple(unique))


def shutdown() -> None:
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()
