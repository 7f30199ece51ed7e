"""The Ray executor: the same plan, shards as Ray tasks on a Ray cluster.

A shard becomes a Ray task with ``num_cpus`` = its units (``num_gpus`` for GPU
hardware, plus a token of the cluster's ``accelerator_type:<model>`` resource when the
planned GPU model has one, so the task lands on that model), running the same worker body as the local executor (``run_shard``): the same
agents, the same content-addressed cache on a shared path, so the outputs are identical.
``address`` joins an existing cluster; without it a local Ray instance is started with
this machine's cores. Everything else (data flow, retries and replacement, timeouts,
observations) is the local executor's: only where shards run changes. Ray is an extra:
``pip install 'murakkab[ray]'``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

from ..catalog.catalog import Catalog
from ..compiler.physical.replan import Replan
from ..grammar.diagnostics import MurakkabError
from .local import LocalExecutor, _Running, _Work, run_shard
from .progress import Progress


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
        ray = _ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=self.cores, num_gpus=self.gpus, **kwargs)
        self._remote = ray.remote(run_shard)
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
        ref = self._remote.options(**options, max_retries=0).remote(
            work.agent, work.knobs, work.calls, str(self.cache_dir) if self.use_cache else None)
        now = time.monotonic()
        return _Running(work, ref, now, now + self.timeout_s if self.timeout_s else None, units, devices)

    def _wait(self, running: list[_Running], timeout: float) -> list[_Running]:
        ray = _ray()
        done, _ = ray.wait([r.handle for r in running], num_returns=len(running), timeout=timeout)
        return [r for r in running if r.handle in done]

    def _answer(self, r: _Running) -> tuple[str, Any, int]:
        ray = _ray()
        try:
            return ray.get(r.handle)
        except Exception as exc:  # noqa: BLE001 - a worker that died is a failed shard
            return "error", f"the Ray task failed: {type(exc).__name__}", 0

    def _cancel(self, r: _Running) -> None:
        _ray().cancel(r.handle, force=True)


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


def shutdown() -> None:
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()
