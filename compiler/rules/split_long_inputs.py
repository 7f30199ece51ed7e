"""Cut a long input of a splittable task into chunks, map the task over them, join.

Speech-to-text of a 20-minute track is one long call; cut into 30 s chunks it is a
per-item map that can fan out (HotOS '25 §3.2, "execution paths"), and joining the
chunk transcripts in order gives the transcript. The rule fires on an invoke whose one
media input is longer than two chunks, when the catalog marks the interface splittable
and provides the cutting (``media_split``) and joining (``text_concatenation``)
interfaces (the binder records the chunk length on the node only then).

    t := speech_to_text (v)          t.chunks := media_split (v)
                             ==>     t.parts  := Map over t.chunks: speech_to_text
                                     t        := text_concatenation (t.parts)
"""

from __future__ import annotations

import math

from ...catalog.types import Type, list_of
from ..logical import INVOKE, JOIN_INTERFACE, MAP, SPLIT_INTERFACE, Node, PlanView, Stats
from .base import Expand, Rule


def rewrite(node: Node, plan: PlanView) -> Expand | None:
    if node.op != INVOKE or node.chunk_s is None or len(node.inputs) != 1:
        return None
    source = plan.node(node.inputs[0])
    media = source.stats.media_s
    # Short inputs gain nothing: cutting costs a pass over the file and a join.
    if source.type.is_list or media <= 2 * node.chunk_s:
        return None
    n = math.ceil(media / node.chunk_s)
    chunk_attrs = tuple((k, v / n if k in ("duration_s", "tokens") else v) for k, v in source.stats.attrs)
    chunks = Node(f"{node.id}.chunks", INVOKE, list_of(Type("AUDIO")), Stats(n, chunk_attrs, source.stats.origin),
                  inputs=(source.id,), interface=SPLIT_INTERFACE, partitionable=True, span=node.span)
    part_attrs = tuple((k, v / n if k in ("duration_s", "tokens") else v) for k, v in node.stats.attrs)
    parts = node.with_(id=f"{node.id}.parts", op=MAP, inputs=(chunks.id,), over=chunks.id, chunk_s=None,
                       type=list_of(node.type), stats=Stats(n, part_attrs, node.stats.origin))
    joined = Node(node.id, INVOKE, node.type, node.stats, inputs=(parts.id,), interface=JOIN_INTERFACE,
                  partitionable=False, span=node.span)
    return Expand((chunks, parts, joined))


RULE = Rule("split_long_inputs", rewrite, __doc__.splitlines()[0])
