"""Several RUNs of one script, planned together on their shared cluster.

The jobs' logical plans are put side by side in one plan (node ids prefixed with the
job's name) with one Output reading every job's results; the rules then merge work the
jobs share (``merge_common_tasks`` compares inputs by value, so two jobs over the same
video share its scene detection), and the planner schedules everything on one cluster,
contending for the same units. Each job's SLOs hold for that job's own totals (its tasks'
shards, from time 0 to its last one's end; ``Estimate.parts``), not the joint plan's:
adding an unrelated job does not make another job's cost SLO fail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Sequence

from .job import BoundJob
from .logical import OUTPUT, LogicalPlan, Node, upstream


def job_labels(jobs: Sequence[BoundJob]) -> list[str]:
    """A distinct label per job: its name, numbered when names repeat."""
    counts = Counter(j.name for j in jobs)
    seen: Counter[str] = Counter()
    out = []
    for j in jobs:
        seen[j.name] += 1
        out.append(j.name if counts[j.name] == 1 else f"{j.name}#{seen[j.name]}")
    return out


def _prefixed(node: Node, label: str) -> Node:
    def p(x: str | None) -> str | None:
        return None if x is None else f"{label}.{x}"

    return node.with_(id=p(node.id), inputs=tuple(f"{label}.{i}" for i in node.inputs), over=p(node.over),
                      streams_from=p(node.streams_from))


def combine(jobs: Sequence[BoundJob]) -> BoundJob:
    """One job whose plan is the union of ``jobs``' plans (all on the first job's cluster)."""
    assert len(jobs) >= 2 and len({j.cluster for j in jobs}) == 1
    labels = job_labels(jobs)
    nodes: list[Node] = []
    outputs: list[str] = []
    parts: list[tuple[str, int]] = []
    for label, job in zip(labels, jobs):
        for n in job.plan.nodes:
            if n.op == OUTPUT:
                outputs.extend(f"{label}.{i}" for i in n.inputs)
                parts.append((label, len(n.inputs)))
            else:
                nodes.append(_prefixed(n, label))
    first = jobs[0].plan.output
    nodes.append(Node("<output>", OUTPUT, first.type, first.stats, tuple(outputs)))
    return BoundJob(
        name=" + ".join(labels), workflow=" + ".join(dict.fromkeys(j.workflow for j in jobs)),
        plan=LogicalPlan(tuple(nodes)),
        slos=tuple(replace(s, job=label) for label, j in zip(labels, jobs) for s in j.slos),
        goals=jobs[0].goals, cluster=jobs[0].cluster, settings=jobs[0].settings, explain=None, span=jobs[0].span,
        matched=tuple((f"{label}.{t}", i, c) for label, j in zip(labels, jobs) for t, i, c in j.matched),
        parts=tuple(parts),
    )


def job_tasks(plan: LogicalPlan, parts: Sequence[tuple[str, int]]) -> dict[str, frozenset[str]]:
    """Per job of a joint plan, the tasks its results depend on (a task two jobs share,
    merged by ``merge_common_tasks``, belongs to both). The rules keep the Output node's
    inputs in place, so its first inputs are the first job's results, and so on."""
    out: dict[str, frozenset[str]] = {}
    position = 0
    for label, count in parts:
        mine = upstream(plan.node, plan.output.inputs[position:position + count])
        position += count
        out[label] = frozenset(t for t in mine if plan.node(t).is_task)
    return out
