"""The errors agents raise: each says what went wrong and, in its hint, what to do."""

from __future__ import annotations

from ...grammar.diagnostics import MurakkabError


class AgentError(MurakkabError):
    """An agent cannot be registered, found or called as asked."""


class UnknownAgentError(AgentError, KeyError):
    """No agent of that name is registered (a ``KeyError`` too, for ``load``'s callers)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        AgentError.__init__(self, message, hint=hint)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.render()


class MediaError(AgentError):
    """A media file cannot be opened, decoded or written as asked."""
