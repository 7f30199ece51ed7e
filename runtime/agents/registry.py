"""The agent registry: catalog agent names → plain Python callables that run here.

An agent is a function ``fn(*args, **knobs) -> value``. ``args`` are the interface's
parameters in the catalog's order (``question_answering(question TEXT; context ANY...)``
is ``fn(question, *context)``), holding the runtime values of
:mod:`murakkab.runtime.agents.values` (``Clip``, ``Frame``, ``str``, lists of them).
A map task is called once per item by the executor, so where the interface takes one
``VIDEO`` the agent takes one ``Clip``, and returns one output (a ``LIST<...>`` output is
a Python ``list``). ``knobs`` are keyword arguments with defaults: the interface's knobs
(``frames_per_scene``, ``threshold``; every agent of the interface must accept them) and
the agent's own.

Registering an agent of your own (its module must be imported before a job runs: by your
program, or by :func:`load_agents`, which ``murakkab ... --agents my_agents.py`` calls)::

    from murakkab.runtime.agents import Clip, agent, get

    @agent("my-whisper", interface="speech_to_text", version="2")
    def transcribe(audio: Clip, *, language: str = "en") -> str:
        '''Transcribe with my own model.'''
        return my_model.transcribe(audio.path, audio.start_s, audio.end_s, language)

    get("my-whisper")(Clip("talk.wav", 0, 30))   # -> the transcript

Registration checks the function against the interface: that it takes the interface's
parameters positionally (``*args`` for a variadic ``ANY...`` one), that it accepts the
interface's knobs as keywords, and that every other keyword has a default; a mistake is an
:class:`AgentError` at import time, not at run time. Each call's return value is checked
against the interface's output type (``values.mismatch``): a wrong type fails that call,
naming the agent, and an executor retries or replaces it as it does any failing agent. Interfaces are the catalog seed's
(``catalog/seed/interfaces.csv``); for an interface of your own catalog, pass its inputs as
``signature="text TEXT; style TEXT"``. ``version`` is part of the cache key an executor
derives: bump it when the agent's output for the same input changes.

The agents that ship with murakkab register themselves when their module is imported;
:func:`get` imports the module of a built-in agent on first use, so nothing heavy
(OpenCV, PyAV, PocketSphinx) is imported until an agent needs it.
"""

from __future__ import annotations

import csv
import functools
import importlib
import inspect
import io
import os
import re
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable, TypeVar

from ...grammar.diagnostics import suggestion
from .errors import AgentError, UnknownAgentError
from .values import mismatch

F = TypeVar("F", bound=Callable[..., Any])

# Built-in agents and the module (under murakkab.runtime.agents) that registers each;
# tests/test_agents_registry.py checks that every module registers exactly these names.
BUILTIN_AGENTS: dict[str, str] = {
    "opencv-content-scenes": "scenes",
    "opencv-histogram-scenes": "scenes",
    "opencv-frames": "media",
    "pyav-audio": "media",
    "pyav-split": "media",
    "pocketsphinx": "speech",
    "opencv-hog": "vision",
    "opencv-describe": "vision",
    "extractive-qa": "text",
    "concat-text": "text",
    "majority-vote": "text",
    "text-chunker": "documents",
    "extractive-summary": "documents",
    "extractive-reduce": "documents",
    "openai-chat": "llm",
}

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")  # the catalog's agent names: lower case, digits, - . _


@dataclass(frozen=True)
class Param:
    """One parameter of an interface: ``context ANY...`` is ``Param("context", "ANY", True)``."""

    name: str
    type: str
    variadic: bool = False


@dataclass(frozen=True)
class InterfaceSignature:
    name: str
    params: tuple[Param, ...]
    knobs: tuple[str, ...] = ()
    output: str | None = None  # the type one call returns ('LIST<SCENE>'); None: unchecked

    def render(self) -> str:
        inner = "; ".join(f"{p.name} {p.type}{'...' if p.variadic else ''}" for p in self.params)
        return f"{self.name}({inner})"


def parse_params(text: str) -> tuple[Param, ...]:
    """The catalog's notation ``'question TEXT; context ANY...'`` as parameters."""
    out: list[Param] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        pieces = part.split()
        if len(pieces) != 2:
            raise AgentError(f"bad interface parameter '{part}'", hint="write 'name TYPE', e.g. 'audio MEDIA'")
        name, typ = pieces
        variadic = typ.endswith("...")
        out.append(Param(name, typ[:-3] if variadic else typ, variadic))
    if any(p.variadic for p in out[:-1]):
        raise AgentError(f"bad interface parameters '{text}'", hint="only the last parameter may be variadic (...)")
    return tuple(out)


@functools.lru_cache(maxsize=1)
def seed_interfaces() -> dict[str, InterfaceSignature]:
    """The interfaces of the catalog seed, with their knobs (read from the package's CSVs)."""
    seed = resources.files("murakkab.catalog").joinpath("seed")

    def rows(name: str) -> list[dict[str, str]]:
        text = seed.joinpath(name).read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        return list(csv.DictReader(io.StringIO("\n".join(lines))))

    knobs: dict[str, list[str]] = {}
    for row in rows("interface_knobs.csv"):
        # A knob that shapes the plan (leaves a step out, repeats it) is the planner's; an
        # agent never sees it.
        if row.get("effect", "value") == "value":
            knobs.setdefault(row["interface"], []).append(row["knob"])
    return {row["name"]: InterfaceSignature(row["name"], parse_params(row["inputs"]),
                                            tuple(knobs.get(row["name"], ())), row["output"])
            for row in rows("interfaces.csv")}


@dataclass(frozen=True)
class AgentSpec:
    """A registered agent; calling it calls ``fn`` after checking the arguments."""

    name: str
    interface: str
    version: str
    fn: Callable[..., Any] = field(repr=False, compare=False)
    knobs: tuple[str, ...]
    description: str = ""
    accepts_any_knob: bool = field(default=False, repr=False)
    # Environment variables whose values change what the agent returns (an endpoint, a
    # model name): a call's cache key covers their values (``settings``).
    environment: tuple[str, ...] = ()
    # It runs only where one of these variables is set (an endpoint agent's URL).
    needs_env: tuple[str, ...] = ()
    # The type a call returns, checked after each call (None: not known, not checked).
    output: str | None = None

    def settings(self) -> dict[str, str | None]:
        """The values of the agent's ``environment`` variables here, for the cache key."""
        return {name: os.environ.get(name) for name in self.environment}

    def missing(self) -> str | None:
        """What the agent lacks to run here (None: nothing)."""
        if not self.needs_env or any(os.environ.get(v) for v in self.needs_env):
            return None
        return " or ".join(f"${v}" for v in self.needs_env) + " set"

    def __call__(self, *args: Any, **knobs: Any) -> Any:
        if not self.accepts_any_knob:
            unknown = sorted(k for k in knobs if k not in self.knobs)
            if unknown:
                accepted = ", ".join(self.knobs) or "none"
                raise AgentError(f"agent '{self.name}' has no knob {', '.join(repr(k) for k in unknown)}",
                                 hint=f"its knobs: {accepted}")
        try:
            inspect.signature(self.fn).bind(*args, **knobs)
        except TypeError as e:
            raise AgentError(f"agent '{self.name}' ({self.interface}) called with {len(args)} "
                             f"argument{'s' if len(args) != 1 else ''}: {e}") from None
        value = self.fn(*args, **knobs)
        why = mismatch(value, self.output) if self.output else None
        if why is not None:
            # Caught here, where the agent is named, not as a confusing failure downstream.
            raise AgentError(f"agent '{self.name}' ({self.interface}) returned {why}: {self.interface} returns "
                             f"{self.output}", hint="return the interface's output type (runtime/agents/values.py)")
        return value


_REGISTRY: dict[str, AgentSpec] = {}
_LOCK = threading.RLock()


def _check_signature(name: str, fn: Callable[..., Any], iface: InterfaceSignature) -> tuple[tuple[str, ...], bool]:
    """The knob names ``fn`` accepts, and whether it takes ``**kwargs``; AgentError if
    ``fn`` cannot be called the way the interface's tasks call it."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        raise AgentError(f"agent '{name}': cannot read the signature of {fn!r}") from None
    ps = list(sig.parameters.values())
    positional = [p for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    var_args = any(p.kind == p.VAR_POSITIONAL for p in ps)
    var_kw = any(p.kind == p.VAR_KEYWORD for p in ps)
    fixed = [p for p in iface.params if not p.variadic]
    variadic = any(p.variadic for p in iface.params)
    where = f"agent '{name}' implements {iface.render()}"
    expected = ", ".join([p.name for p in fixed] + [f"*{p.name}" for p in iface.params if p.variadic])
    if len(required) > len(fixed) or (len(positional) < len(fixed) and not var_args) or (variadic and not var_args):
        raise AgentError(f"{where} but takes ({_sig_text(sig)})",
                         hint=f"take the interface's parameters positionally: def fn({expected}, *, knob=default)")
    missing_kw = [p for p in ps if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
    if missing_kw:
        raise AgentError(f"{where} but its knob '{missing_kw[0].name}' has no default",
                         hint="every knob is optional: give it a default value")
    knob_params = [p for p in ps if p.kind == p.KEYWORD_ONLY] + positional[len(fixed):]
    knobs = tuple(p.name for p in knob_params)
    for knob in iface.knobs:
        if knob not in knobs and not var_kw:
            raise AgentError(f"{where} but does not accept its knob '{knob}'",
                             hint=f"add a keyword parameter: def fn(..., *, {knob}=<default>)")
    return knobs, var_kw


def _sig_text(sig: inspect.Signature) -> str:
    return ", ".join(str(p).split(":")[0].split("=")[0].strip() for p in sig.parameters.values())


def agent(name: str, *, interface: str, version: str = "1", signature: str | None = None,
          replace: bool = False, environment: tuple[str, ...] = (),
          needs_env: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Register the decorated function as agent ``name`` implementing ``interface``.

    Returns the function unchanged (it stays a plain, picklable module function).
    ``signature`` gives the inputs of an interface the seed catalog does not define;
    ``replace=True`` replaces an agent another function registered under ``name``;
    ``environment`` names the environment variables the function reads that change its
    answers (an endpoint URL, a model name; never a secret's variable): cached answers
    are kept apart by their values; ``needs_env`` names variables one of which must be set
    for the agent to run on a machine (an endpoint's URL): where none is, plans leave it out.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise AgentError(f"bad agent name {name!r}",
                         hint="use lower-case letters, digits and - . _, starting with a letter or digit")
    if not isinstance(version, str) or not version.strip():
        raise AgentError(f"agent '{name}': version must be a non-empty string, e.g. '1'")
    known = seed_interfaces()
    if signature is not None:
        iface = InterfaceSignature(interface, parse_params(signature),
                                   known[interface].knobs if interface in known else ())
    elif interface in known:
        iface = known[interface]
    else:
        raise AgentError(f"agent '{name}': unknown interface '{interface}'",
                         hint=f"{suggestion(interface, known, 'interfaces')}; for an interface of your own "
                              f"catalog pass its inputs, e.g. signature='text TEXT'")

    def register(fn: F) -> F:
        if not callable(fn):
            raise AgentError(f"agent '{name}': @agent decorates a function, not {type(fn).__name__}")
        knobs, var_kw = _check_signature(name, fn, iface)
        doc = inspect.getdoc(fn) or ""
        spec = AgentSpec(name, interface, version, fn, knobs, doc.split("\n\n")[0].replace("\n", " "), var_kw,
                         tuple(environment), tuple(needs_env), iface.output)
        builtin = BUILTIN_AGENTS.get(name)
        is_builtin = builtin is not None and getattr(fn, "__module__", None) == f"{__package__}.{builtin}"
        with _LOCK:
            old = _REGISTRY.get(name)
            if is_builtin and old is not None and getattr(old.fn, "__module__", None) != fn.__module__:
                return fn  # imported lazily after a user replaced it (replace=True): theirs stays
            if builtin is not None and not is_builtin and not replace:
                # Built-ins are imported on first use, so the name may look free: it is not.
                raise AgentError(f"agent '{name}' is a built-in agent ({__package__}.{builtin})",
                                 hint="choose another name, or pass replace=True to replace the built-in")
            if old is not None and not replace and _qualname(old.fn) != _qualname(fn):
                raise AgentError(f"agent '{name}' is already registered by {_qualname(old.fn)}",
                                 hint="choose another name, or pass replace=True to replace it")
            _REGISTRY[name] = spec
        return fn

    return register


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _import_builtin(module: str) -> None:
    importlib.import_module(f"{__package__}.{module}")


def is_builtin(name: str) -> bool:
    """Whether ``name`` is a built-in agent as shipped (not replaced by a user's): a
    fresh process finds it by importing its module."""
    builtin = BUILTIN_AGENTS.get(name)
    return builtin is not None and getattr(get(name).fn, "__module__", None) == f"{__package__}.{builtin}"


def get(name: str) -> AgentSpec:
    """The agent registered as ``name`` (importing a built-in agent's module on first use)."""
    with _LOCK:
        spec = _REGISTRY.get(name)
    if spec is None and name in BUILTIN_AGENTS:
        _import_builtin(BUILTIN_AGENTS[name])
        with _LOCK:
            spec = _REGISTRY.get(name)
    if spec is None:
        with _LOCK:
            names = set(_REGISTRY) | set(BUILTIN_AGENTS)
        raise UnknownAgentError(f"unknown agent '{name}'",
                                hint=f"{suggestion(str(name), names, 'agents')} (or register one with "
                                     f"@agent('{name}', interface=...))")
    return spec


def registered(interface: str | None = None) -> tuple[AgentSpec, ...]:
    """Every registered agent (built-ins included), by name; only ``interface``'s if given."""
    for module in sorted(set(BUILTIN_AGENTS.values())):
        _import_builtin(module)
    with _LOCK:
        specs = sorted(_REGISTRY.values(), key=lambda s: s.name)
    return tuple(s for s in specs if interface is None or s.interface == interface)


def unregister(name: str) -> None:
    """Remove agent ``name`` (a built-in comes back only if its module is reloaded)."""
    with _LOCK:
        if _REGISTRY.pop(name, None) is None:
            raise UnknownAgentError(f"unknown agent '{name}'", hint="nothing to unregister")


# Modules loaded from a file get names under this prefix (they are on no import path, so
# an executor in another process must be sent their functions by value).
USER_MODULE_PREFIX = "murakkab_user_agents."


def load_agents(ref: str) -> Any:
    """Import the agents a user wrote: ``ref`` is a Python file (``my_agents.py``) or an
    importable module (``mypkg.agents``); its ``@agent`` decorators register them.
    Returns the module. Every failure is an :class:`AgentError` saying where."""
    import hashlib
    import importlib.util
    import sys
    import traceback

    path = os.path.abspath(ref)
    from_file = ref.endswith(".py") or os.path.sep in ref or os.path.isfile(path)
    if from_file:
        if not os.path.isfile(path):
            raise AgentError(f"no agent file {ref}", hint="give a Python file (my_agents.py) or a module (pkg.agents)")
        stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        name = f"{USER_MODULE_PREFIX}{stem}_{hashlib.sha256(path.encode()).hexdigest()[:8]}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise AgentError(f"cannot load {ref} as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
    error: str | None = None
    try:
        if from_file:
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(ref)
    except AgentError:
        if from_file:
            sys.modules.pop(name, None)
        raise
    except SyntaxError as exc:
        error = f"{exc.filename or ref}:{exc.lineno or 0}:{exc.offset or 0}: syntax error: {exc.msg}"
    except ModuleNotFoundError as exc:
        error = (f"cannot import {ref}: no module named '{exc.name}'" if exc.name else f"cannot import {ref}: {exc}")
    except Exception as exc:  # noqa: BLE001 - user code: any failure is reported, located
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path or not from_file]
        where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
        error = f"{where}loading agents from {ref} failed: {type(exc).__name__}: {exc}"
    if error is not None:
        if from_file:
            sys.modules.pop(name, None)
        raise AgentError(error, hint="fix the module; it is imported once, before planning")
    return module
