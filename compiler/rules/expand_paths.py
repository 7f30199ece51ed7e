"""Sample a task's answer k times and take the majority, to raise quality.

An LLM answer that is right with probability q is right by majority of k independent
samples with probability sum_{i > k/2} C(k, i) q^i (1 - q)^(k - i) (Condorcet's jury
theorem; self-consistency decoding, Wang et al. 2023, is this with k samples of one
model). With k = 3 and q = 0.69 that is 0.79: sampling a small model three times can
beat one call of a larger one, and the three samples run in parallel. The rule only
adds the *path*; the planner chooses agents, and the rule is enabled only for jobs whose
SLO asks for quality (``compiler/physical/planner.py``).

    a := question_answering (q, ctx)      a.seeds   := Input LIST<NUMBER> [1, 2, 3]
                                    ==>   a.samples := Map over a.seeds: question_answering (q, ctx)
                                          a         := answer_vote (a.samples)
"""

from __future__ import annotations

from ...catalog.types import Type, list_of
from ..logical import INPUT, INVOKE, MAP, VOTE_INTERFACE, Node, PlanView, Stats
from .base import Expand, Rule


def rewrite(node: Node, plan: PlanView) -> Expand | None:
    # Only an invoke the catalog can vote on, and only once.
    if node.op != INVOKE or node.vote_k is None or node.votes:
        return None
    k = node.vote_k
    numbers = tuple(float(i) for i in range(1, k + 1))
    seeds = Node(f"{node.id}.seeds", INPUT, list_of(Type("NUMBER")), Stats(float(k), (), "derived"),
                 value="[" + ", ".join(str(i) for i in range(1, k + 1)) + "]", literal=numbers, span=node.span)
    samples = node.with_(id=f"{node.id}.samples", op=MAP, inputs=node.inputs + (seeds.id,), over=seeds.id,
                         type=list_of(node.type), stats=Stats(float(k), node.stats.attrs, node.stats.origin),
                         vote_k=None, votes=k)
    vote = Node(node.id, INVOKE, node.type, node.stats, inputs=(samples.id,), interface=VOTE_INTERFACE,
                partitionable=False, span=node.span)
    return Expand((seeds, samples, vote))


def majority_quality(q: float, k: int) -> float:
    """Probability that most of k independent samples, each right with probability q, are right."""
    from math import comb

    return sum(comb(k, i) * q**i * (1 - q) ** (k - i) for i in range(k // 2 + 1, k + 1))


RULE = Rule("expand_paths", rewrite, __doc__.splitlines()[0])
