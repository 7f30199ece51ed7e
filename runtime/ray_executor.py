"""The Ray executor: the same plan, shards as Ray tasks on a Ray cluster.

A shard becomes a Ray task with ``num_cpus`` = its units (``num_gpus`` for GPU
hardware), running the same worker body as the local executor (``run_shard``): the same
agents, the same content-addressed cache on a shared path, so the outputs are identical.
``address`` joins an existing cluster; without it a local Ray instance is started with
this machine's cores. Everything else (data flow, retries and replacement, timeouts,
observations) is the local executor's: only where shards run changes. Ray is an extra:
``pip install 'murakkab[ray]'``.
"""

from __future__ import annotations

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

    def _spawn(self, work: _Work, units: int, devices: tuple[int, ...]) -> _Running:
        # Ray picks the devices of a GPU task itself (and sets CUDA_VISIBLE_DEVICES).
        hw = self.catalog.hardware(work.hardware)
        options = {"num_gpus": units} if hw and hw.is_gpu else {"num_cpus": units}
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


def shutdown() -> None:
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()
