"""This machine's GPUs: detected with nvidia-smi into the 'local' cluster, and handed to
GPU shards as slots by device index (``CUDA_VISIBLE_DEVICES``), never two shards on one
device. Without a GPU here, a stand-in nvidia-smi on PATH plays two."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

import murakkab
from murakkab.catalog.catalog import LOCAL_CLUSTER, LOCAL_GPU, Catalog, parse_nvidia_smi, this_machine
from murakkab.runtime.agents import registry

TWO_H100 = """0, NVIDIA H100 80GB HBM3, 81559, 700.00, 71.52
1, NVIDIA H100 80GB HBM3, 81559, 700.00, 68.48
"""


def test_nvidia_smi_lines_become_one_gpu_hardware() -> None:
    count, gpu = parse_nvidia_smi(TWO_H100)
    assert count == 2 and gpu is not None
    assert (gpu.name, gpu.kind, gpu.memory_gb, gpu.active_w, gpu.idle_w) == (LOCAL_GPU, "gpu", 79.6, 700.0, 70.0)
    assert "2 x NVIDIA H100 80GB HBM3" in gpu.source and "NVIDIA H100" in gpu.description


def test_unreadable_power_is_assumed_and_said() -> None:
    count, gpu = parse_nvidia_smi("0, Tesla T4, 15360, [N/A], [N/A]\n")
    assert count == 1 and gpu is not None
    assert gpu.active_w == 300.0 and gpu.idle_w == 45.0 and "power not readable, assumed" in gpu.source


@pytest.mark.parametrize("text", ["", "No devices were found\n", "garbage, 1, 2\n"])
def test_no_gpu_lines_mean_no_gpus(text: str) -> None:
    assert parse_nvidia_smi(text) == (0, None)


@pytest.fixture()
def two_fake_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text(f"#!/bin/sh\ncat <<'EOF'\n{TWO_H100}EOF\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{smi.parent}{os.pathsep}{os.environ['PATH']}")
    this_machine.cache_clear()

    @registry.agent("gpu-echo", interface="summarization", version="1")
    def echo(text, **knobs):  # type: ignore[no-untyped-def]
        started = time.time()
        time.sleep(0.3)
        return f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'none')}@{started:.3f}-{time.time():.3f}"

    yield
    registry.unregister("gpu-echo")
    this_machine.cache_clear()


def test_gpu_shards_get_devices_of_their_own(tmp_path: Path, two_fake_gpus) -> None:
    catalog = Catalog()
    local = catalog.cluster(LOCAL_CLUSTER)
    assert local is not None and local.capacity(LOCAL_GPU) == 2
    with catalog.transaction():
        catalog.execute("INSERT INTO agents (name, interface, kind, model, quality, quality_source) "
                        "VALUES ('gpu-echo', 'summarization', 'model', 'test', 0.9, 'default:test')")
        catalog.execute("INSERT INTO profiles (agent, hardware, units, setup_s, per_item_s, per_media_s, "
                        "utilisation, source) VALUES ('gpu-echo', ?, 1, 0, 0.3, 0, 1, 'default:test')", [LOCAL_GPU])
    catalog.reload()
    script = """CREATE WORKFLOW w (notes LIST<TEXT>) AS (s := summarization (notes) USING (agent = 'gpu-echo'))
RETURNS s;
RUN w (notes => ['a', 'b', 'c', 'd', 'e', 'f']);"""
    (outcome,) = murakkab.run(script, backend="local", catalog=catalog, cache_dir=tmp_path)
    (task,) = outcome.plan.tasks
    assert task.candidate.hardware == LOCAL_GPU and task.candidate.fanout == 2
    assert {r.hardware for r in outcome.result.timeline} == {LOCAL_GPU}
    calls = []
    for item in dict(outcome.result.outputs)["s"].strip("[]").split(", "):
        device, span = item.split("@")
        start, end = map(float, span.split("-"))
        calls.append((device, start, end))
    assert {d for d, _, _ in calls} == {"0", "1"}  # each shard sees one device, and both are used
    for i, (d1, s1, e1) in enumerate(calls):
        for d2, s2, e2 in calls[i + 1:]:
            if s1 < e2 and s2 < e1:  # at the same time: never on the same device
                assert d1 != d2
    # GPU energy counts at the detected power limit.
    assert outcome.result.totals.energy_wh > 0


@pytest.mark.parametrize("name, description, expected", [
    ("local-gpu", "one GPU of this machine (NVIDIA H200)", "accelerator_type:H200"),
    ("A100-80GB", "NVIDIA A100 80GB SXM", "accelerator_type:A100"),
    ("A100-80G", "NVIDIA A100 80GB SXM", "accelerator_type:A100-80G"),
    ("local-gpu", "one GPU of this machine (Tesla T4)", None),
])
def test_a_gpu_maps_to_the_ray_accelerator_label_of_its_model(name: str, description: str,
                                                              expected: str | None) -> None:
    from murakkab.runtime.ray_executor import accelerator_resource

    labels = ["accelerator_type:A100", "accelerator_type:A100-80G", "accelerator_type:H200",
              "accelerator_type:H100"]
    assert accelerator_resource(name, description, labels) == expected


def test_a_ray_cluster_becomes_a_catalog_cluster() -> None:
    from murakkab.runtime.ray_executor import cluster_from_nodes

    nodes = [
        {"Alive": True, "NodeManagerAddress": "10.0.0.1", "Resources": {"CPU": 16.0, "GPU": 2.0}},
        {"Alive": True, "NodeManagerAddress": "10.0.0.2", "Resources": {"CPU": 8.0}},
        {"Alive": False, "NodeManagerAddress": "10.0.0.3", "Resources": {"CPU": 64.0}},
    ]
    cluster = cluster_from_nodes(nodes, gpu_known=True)
    assert cluster.name == "ray"
    assert dict(cluster.machines()) == {"10.0.0.1#0": {"local-core": 16, LOCAL_GPU: 2},
                                        "10.0.0.2#0": {"local-core": 8}}
    # GPUs the catalog has no hardware row for cannot be planned for: left out.
    assert cluster_from_nodes(nodes, gpu_known=False).capacity(LOCAL_GPU) == 0
