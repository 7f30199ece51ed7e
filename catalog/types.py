"""The job language's types: base types with a small subtype lattice, and ``LIST<T>``.

Subtyping lets one interface serve related data: a ``SCENE`` is a ``VIDEO`` clip, and
any ``VIDEO`` carries an audio track, so ``speech_to_text(MEDIA)`` accepts all three.
"""

from __future__ import annotations

from dataclasses import dataclass

# child -> parent; ANY is the top of the lattice.
_PARENT: dict[str, str] = {
    "TEXT": "ANY",
    "NUMBER": "ANY",
    "BOOL": "ANY",
    "MEDIA": "ANY",
    "IMAGE": "ANY",
    "AUDIO": "MEDIA",
    "VIDEO": "MEDIA",
    "SCENE": "VIDEO",
    "DOCUMENT": "TEXT",
    "CHUNK": "TEXT",
    "CODE": "TEXT",
}

BASE_TYPES: tuple[str, ...] = tuple(sorted(set(_PARENT) | {"ANY"}))


@dataclass(frozen=True)
class Type:
    """A base type (``elem is None``) or ``LIST<elem>``."""

    name: str
    elem: "Type | None" = None

    @property
    def is_list(self) -> bool:
        return self.elem is not None

    def __str__(self) -> str:
        return f"LIST<{self.elem}>" if self.elem is not None else self.name


def list_of(t: Type) -> Type:
    return Type("LIST", t)


def is_subtype(sub: Type, sup: Type) -> bool:
    """``sub`` may be passed where ``sup`` is expected."""
    if sup.name == "ANY" and sup.elem is None:
        return True
    if sub.is_list or sup.is_list:
        return sub.is_list and sup.is_list and is_subtype(sub.elem, sup.elem)  # type: ignore[arg-type]
    name: str | None = sub.name
    while name is not None:
        if name == sup.name:
            return True
        name = _PARENT.get(name)
    return False


def parse_type(text: str) -> Type:
    """Parse ``'LIST<SCENE>'``; raises ValueError on an unknown name."""
    text = text.strip().upper()
    if text.startswith("LIST<") and text.endswith(">"):
        return list_of(parse_type(text[5:-1]))
    if text not in BASE_TYPES:
        raise ValueError(f"unknown type {text!r}")
    return Type(text)
