"""Parse job-language text into the AST (``grammar/ast.py``).

Lark's LALR parser does the work; this module turns its parse tree into frozen
dataclasses with spans and its exceptions into :class:`MurakkabError` with the
expected tokens in words and a did-you-mean for misspelled keywords.

A script is first parsed without a parse tree: the AST nodes are built as the parser
reduces each rule (``_fast_parse``), with the spans the tree would have given them. A
script that fails in any way is parsed again the long way (tree, nesting check,
transform), which reports the fault: errors are those of the tree path, always.
"""

from __future__ import annotations

import functools
import gc
import math
import re
from importlib import resources
from typing import Any, Callable

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken,
                             VisitError)
from lark.lexer import LexerThread, PatternStr
from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders, ExpandSingleChild, PropagatePositions

try:  # Lark's LALR parser loop, given callbacks of our own (``_fast_parse``)
    from lark.parsers.lalr_parser import _Parser as _LalrLoop
except ImportError:  # pragma: no cover - another Lark: every script takes the tree path
    _LalrLoop = None

from . import ast
from .diagnostics import MurakkabError, Source, Span, did_you_mean

# Words a person would use for the grammar's non-literal terminals.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "CMP": "a comparison",
    "DIRECTION": "MINIMIZE or MAXIMIZE",
    "ANALYZE": "ANALYZE",
    "PUNCT": "an operator",
    "$END": "end of input",
}

# The order in which expected tokens are listed: the most helpful first.
_PREFERRED = ("SEMICOLON", "RPAR", "COMMA")


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files(__package__).joinpath("job.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


@functools.lru_cache(maxsize=1)
def _keyword_set() -> frozenset[str]:
    return frozenset(keywords())


def keywords() -> tuple[str, ...]:
    """Every keyword of the language, upper case (for did-you-mean)."""
    out = []
    for term in _lark().terminals:
        if isinstance(term.pattern, PatternStr) and term.pattern.value.isalpha():
            out.append(term.pattern.value.upper())
    return tuple(sorted(set(out) | {"MINIMIZE", "MAXIMIZE", "ANALYZE"}))


# How deep types (LIST<LIST<...>>) and list literals may nest. The parse tree is turned
# into the AST, and types bound and printed, by recursion: 400 levels overflowed Python's
# stack. No job needs more than a few levels.
MAX_NESTING = 32


def parse(text: str, name: str = "<string>") -> ast.Script:
    """Parse a whole script; raise :class:`MurakkabError` pointing at the first fault."""
    source = Source(name, text)
    nul = text.find("\0")
    if nul >= 0:
        # Anywhere, even in a comment or a string: a NUL byte means a binary or damaged
        # file, and the lexer would otherwise report whatever token it broke.
        raise MurakkabError("a NUL byte (\\0) in the script", Span(source, nul, nul + 1),
                            "a job script is plain text: the file may be binary or damaged; remove the byte")
    # Python's cycle collector off while the AST is built: its full passes, triggered by
    # the growth of the AST, would traverse all of it again and again (1.5 s of the 5 s a
    # 10,000-line script took). The AST has no cycles: what is dropped is freed as usual.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, source)
    finally:
        if enabled:
            gc.enable()


def _parse(text: str, source: Source) -> ast.Script:
    try:
        return _fast_parse(text, source)
    except Exception:  # noqa: BLE001 - any fault: the tree path below reports it
        pass
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    except LarkError as exc:  # pragma: no cover - Lark's other errors mean a grammar bug
        raise MurakkabError(f"could not parse: {exc}", Span(source, 0, 0)) from None
    _check_nesting(tree, source)
    try:
        return _ToAst(source).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, MurakkabError):
            raise exc.orig_exc from None
        raise


def _check_nesting(tree: Tree, source: Source) -> None:
    """Refuse a type or list literal nested deeper than ``MAX_NESTING``, at the first
    level too deep (walked with an explicit stack: the tree itself may be that deep)."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in ("type", "list"):
            depth += 1
            if depth > MAX_NESTING:
                what = "types" if node.data == "type" else "lists"
                raise MurakkabError(f"{what} nest too deeply (more than {MAX_NESTING} levels)",
                                    Span(source, node.meta.start_pos, node.meta.end_pos),
                                    f"at most {MAX_NESTING} levels of "
                                    + ("LIST<...>" if node.data == "type" else "[...]") + " are supported")
        stack.extend((c, depth) for c in node.children if isinstance(c, Tree))


# ---------------------------------------------------------------------------
# The AST without a parse tree
# ---------------------------------------------------------------------------


class _Node:
    """What a rule reduced to: its AST value, the text positions its parse tree would
    have (``start_pos`` None: it spans no text), and how deeply types or lists nest in it."""

    __slots__ = ("value", "start_pos", "end_pos", "nest")

    def __init__(self, value: Any, start_pos: int | None, end_pos: int | None, nest: int) -> None:
        self.value, self.start_pos, self.end_pos, self.nest = value, start_pos, end_pos, nest


class _Meta:
    """The part of a parse tree's meta that ``_ToAst`` reads."""

    __slots__ = ("start_pos", "end_pos", "empty")

    def __init__(self, start_pos: int | None, end_pos: int | None) -> None:
        self.start_pos, self.end_pos, self.empty = start_pos, end_pos, start_pos is None


class _TooDeep(Exception):
    """Types or lists nest deeper than ``MAX_NESTING``: the tree path says where."""


class _Reduce:
    """The callback of one grammar rule: what Lark's tree builder and ``_ToAst`` together
    make of its children, without the tree. As the tree builder: ``include`` keeps the
    children that are not filtered-out tokens (and inlines those of helper rules);
    ``expand1`` (a ``?rule`` of one symbol) passes its child up as it is; a node spans
    from its first child that spans text to its last. As ``_ToAst.transform``: the
    method named after the rule, given the node's meta and its children's values, or
    ``__default__`` when it has none."""

    __slots__ = ("name", "method", "wrapper", "default", "include", "expand1", "nests")

    def __init__(self, name: str, transformer: Transformer, include: list[tuple[int, bool]] | None,
                 expand1: bool) -> None:
        self.name, self.include, self.expand1 = name, include, expand1
        self.method = getattr(transformer, name, None)
        self.wrapper = getattr(self.method, "visit_wrapper", None)
        self.default = transformer.__default__
        self.nests = name in ("type", "list")

    def __call__(self, children: list[Any]) -> Any:
        include = self.include
        if self.expand1 and include != []:
            return children[0]
        start = end = None
        for c in children:
            if c.start_pos is not None:
                start = c.start_pos
                break
        for c in reversed(children):
            if c.end_pos is not None:
                end = c.end_pos
                break
        nest = 0
        for c in children:
            if type(c) is _Node and c.nest > nest:
                nest = c.nest
        if self.nests:
            nest += 1
            if nest > MAX_NESTING:
                raise _TooDeep
        if include is None:
            values = [c.value if type(c) is _Node else c for c in children]
        else:
            values = []
            for i, expand in include:
                c = children[i]
                v = c.value if type(c) is _Node else c
                if not expand:
                    values.append(v)
                elif values:
                    values += v.children
                else:  # a helper rule's list (left recursion) is extended, not copied
                    values = v.children
        meta = _Meta(start, end)
        if self.method is None:
            value = self.default(self.name, values, meta)
        elif self.wrapper is not None:
            value = self.wrapper(self.method, self.name, values, meta)
        else:
            value = self.method(values)
        return _Node(value, start, end, nest)


class _NoFastPath(Exception):
    """This Lark version or grammar has a construct the fast path does not build: the
    tree path parses instead (``_parse``)."""


def _fast_parse(text: str, source: Source) -> ast.Script:
    """The AST of ``text``, built by callbacks as Lark's LALR parser reduces each rule
    (``_Reduce``): the AST the tree path builds, or an exception (any) where it would
    fail."""
    lark = _lark()
    frontend = lark.parser
    if _LalrLoop is None or lark.options.transformer is not None:
        raise _NoFastPath("the tree path parses")
    transformer = _ToAst(source)
    # Tokens pass through _ToAst as they are (it has no method named after a terminal).
    if any(hasattr(transformer, t.name) for t in lark.terminals):
        raise _NoFastPath("a token callback")
    callbacks = {}
    for rule, chain in lark._parse_tree_builder.rule_builders:
        include, expand1 = None, False
        for step in chain:
            if step is ExpandSingleChild:
                expand1 = True
            elif isinstance(step, functools.partial) and step.func is ChildFilterLALR_NoPlaceholders:
                include = step.args[0]
            elif step is not PropagatePositions:
                raise _NoFastPath(f"tree builder step {step!r}")
        if expand1 and (len(rule.expansion) != 1 or any(expand for _, expand in include or ())):
            raise _NoFastPath("a ?rule of more than one symbol")
        name = rule.alias or rule.options.template_source or rule.origin.name
        callbacks[rule] = _Reduce(name, transformer, include, expand1)
    loop = _LalrLoop(frontend.parser._parse_table, callbacks)
    start, = frontend.parser_conf.start
    result = loop.parse(LexerThread.from_text(frontend.lexer, text), start)
    return result.value if type(result) is _Node else result


def _number(token: Token, source: Source) -> float:
    """A NUMBER token's value; a finite one only (``1e400`` reads as infinity)."""
    value = float(token)
    if not math.isfinite(value):
        raise MurakkabError(f"the number {token} is too large", Span(source, token.start_pos, token.end_pos),
                            "numbers must be below about 1.8e308; write a sensible value")
    return value


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        term = _lark().get_terminal(name)
    except KeyError:
        return name.lower()
    if isinstance(term.pattern, PatternStr):
        value = term.pattern.value
        return value.upper() if value.isalpha() else f"'{value}'"
    return name.lower()


def _expected_words(expected: set[str] | frozenset[str]) -> list[str]:
    # The most helpful first; "end of input" last.
    names = sorted(expected, key=lambda n: (n == "$END", _PREFERRED.index(n) if n in _PREFERRED else len(_PREFERRED), n))
    words: list[str] = []
    for n in names:
        w = _describe_terminal(n)
        if w not in words:
            words.append(w)
    return words


def _join(words: list[str]) -> str:
    if len(words) > 8:
        words = words[:8] + ["..."]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _keyword_hint(value: str, expected: set[str] | frozenset[str]) -> str | None:
    """A did-you-mean when a misspelled word stands where a keyword was expected."""
    candidates = [w for w in (_describe_terminal(n) for n in expected) if w.isalpha() and w.isupper()]
    if "DIRECTION" in expected:
        candidates += ["MINIMIZE", "MAXIMIZE"]
    best = did_you_mean(value, candidates, cutoff=0.5)
    return f"did you mean '{best}'?" if best else None


_STATEMENT_KEYWORDS = frozenset({"CREATE", "RUN", "EXPLAIN", "SHOW", "SET", "PLAN"})


def _statement_keyword_taken_as_unit(text: str, offset: int) -> Token | None:
    """``SET seed = 42 RUN ...``: after a number the lexer reads the next statement's
    first keyword as a unit, and the parser fails one token later. Find that keyword."""
    try:
        tokens = list(_lark().lex(text[:offset]))
    except LarkError:
        return None
    if len(tokens) >= 2 and tokens[-1].type in _STATEMENT_KEYWORDS and tokens[-2].type == "NUMBER":
        return tokens[-1]
    return None


_TRAILING = re.compile(r"(?:\s+|--[^\n]*|/\*(?:.|\n)*?\*/)*\Z")


def _end_of_code(text: str) -> int:
    """Offset just after the last character that is not blank or a comment (the caret
    for 'unexpected end of input' goes there, not into a trailing comment)."""
    pos = 0
    while True:
        m = _TRAILING.search(text, pos)
        if m is None:
            return len(text)
        # The trailing run must start after code, not inside a string or comment.
        start = m.start()
        if start == 0 or not _lark_tokens_end_before(text, start):
            pos = start + 1
            if pos > len(text):
                return len(text)
            continue
        return start


def _lark_tokens_end_before(text: str, offset: int) -> bool:
    try:
        last = None
        for tok in _lark().lex(text[:offset]):
            last = tok
        return last is not None and last.end_pos == offset
    except LarkError:
        return False


def _syntax_error(exc: UnexpectedInput, source: Source) -> MurakkabError:
    at = getattr(exc, "pos_in_stream", None)
    if isinstance(at, int) and source.text.startswith("/*", at) and "*/" not in source.text[at + 2:]:
        return MurakkabError("unterminated comment", Span(source, at, at + 2), "close it with */")
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        char = source.text[pos] if pos < len(source.text) else ""
        span = Span(source, pos, pos + 1)
        if char == "'":
            return MurakkabError("unterminated string", span, "close the string with ' on the same line")
        if char == '"':
            return MurakkabError(
                "strings use single quotes", span, "write 'text' (double quotes are not used in job scripts)"
            )
        allowed = set(exc.allowed or ())
        hint = f"expected {_join(_expected_words(allowed))}" if allowed else None
        return MurakkabError(f"unexpected character {char!r}", span, hint)
    if isinstance(exc, UnexpectedEOF):
        end = _end_of_code(source.text)
        return MurakkabError(
            "unexpected end of input", Span(source, end, end),
            f"expected {_join(_expected_words(set(exc.expected)))}",
        )
    assert isinstance(exc, UnexpectedToken)
    token: Token = exc.token
    expected = set(exc.expected)
    try:
        # The parser state's own answer; exc.expected can come from a merged LALR state.
        expected = set(exc.interactive_parser.accepts()) or expected
    except Exception:  # noqa: BLE001 - fall back to Lark's list
        pass
    start = token.start_pos if token.start_pos is not None else 0
    keyword = _statement_keyword_taken_as_unit(source.text, start)
    if keyword is not None:
        return MurakkabError(f"unexpected {keyword.value!r}; expected ';'",
                             Span(source, keyword.start_pos, keyword.end_pos), "statements end with ';'")
    if token.type == "$END":
        end = _end_of_code(source.text)
        return MurakkabError(
            "unexpected end of input", Span(source, end, end),
            f"expected {_join(_expected_words(expected))}",
        )
    start = token.start_pos if token.start_pos is not None else 0
    end = token.end_pos if token.end_pos is not None else start + 1
    span = Span(source, start, max(end, start + 1))
    shown = str(token.value)
    message = f"unexpected {shown!r}; expected {_join(_expected_words(expected))}"
    hint = _keyword_hint(shown, expected) if token.type == "NAME" else None
    if hint is None and "SEMICOLON" in expected and token.type in {t.upper() for t in keywords()}:
        hint = "statements end with ';'"
    return MurakkabError(message, span, hint)


# ---------------------------------------------------------------------------
# Parse tree -> AST
# ---------------------------------------------------------------------------


def _unquote(raw: str) -> str:
    return raw[1:-1].replace("''", "'")


# A clause given twice: (message, span, hint).
_REPEATED_CLAUSE: dict[str, Callable[[Span], tuple[str, Span, str]]] = {
    "objectives": lambda at: ("a second goal clause", at, "join the goals with THEN: MINIMIZE latency THEN cost"),
    "cluster": lambda at: ("a second ON CLUSTER clause", at, "a job runs on one cluster: keep one ON CLUSTER"),
}


@v_args(meta=True)
class _ToAst(Transformer):
    """Builds AST nodes bottom-up; every node gets the span of its text."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.source, 0, 0)
        return Span(self.source, meta.start_pos, meta.end_pos)

    def _tok(self, token: Token) -> Span:
        return Span(self.source, token.start_pos, token.end_pos)

    # -- top level ------------------------------------------------------------
    def start(self, meta: Any, children: list[Any]) -> ast.Script:
        return ast.Script(tuple(c for c in children if not isinstance(c, Token)))

    # -- values ---------------------------------------------------------------
    def quantity(self, meta: Any, children: list[Token]) -> ast.Quantity:
        number = children[0]
        unit = str(children[1]) if len(children) > 1 else None
        if unit is not None and unit.upper() in _keyword_set():
            # `SET seed = 42 RUN ...`: the lexer took the next statement's keyword for a unit.
            raise MurakkabError(f"'{unit}' is a keyword, not a unit", self._tok(children[1]),
                                "a ';' is probably missing before it")
        return ast.Quantity(_number(number, self.source), unit, self._span(meta))

    def string(self, meta: Any, children: list[Token]) -> ast.StringLit:
        return ast.StringLit(_unquote(str(children[0])), self._tok(children[0]))

    def word(self, meta: Any, children: list[Token]) -> ast.Word:
        return ast.Word(str(children[0]), self._tok(children[0]))

    def list(self, meta: Any, children: list[Any]) -> ast.ListLit:
        return ast.ListLit(tuple(children), self._span(meta))

    def setting(self, meta: Any, children: list[Any]) -> ast.Setting:
        return ast.Setting(str(children[0]), children[1], self._span(meta))

    def settings(self, meta: Any, children: list[Any]) -> tuple[ast.Setting, ...]:
        seen: dict[str, ast.Setting] = {}
        for s in children:
            first = seen.setdefault(s.name.lower(), s)
            if first is not s:  # the later one would silently win
                raise MurakkabError(f"'{s.name}' is given twice", s.span,
                                    f"first at {first.span.where()}; give each setting once")
        return tuple(children)

    # -- workflows ------------------------------------------------------------
    def type(self, meta: Any, children: list[Any]) -> ast.TypeRef:
        arg = children[1] if len(children) > 1 else None
        return ast.TypeRef(str(children[0]).upper(), arg, self._span(meta))

    def param(self, meta: Any, children: list[Any]) -> ast.Param:
        return ast.Param(str(children[0]), children[1], self._span(meta))

    def params(self, meta: Any, children: list[Any]) -> tuple[ast.Param, ...]:
        return tuple(children)

    def ref(self, meta: Any, children: list[Token]) -> ast.Ref:
        return ast.Ref(str(children[0]), self._tok(children[0]))

    def refs(self, meta: Any, children: list[Any]) -> tuple[ast.Ref, ...]:
        return tuple(children)

    def target_name(self, meta: Any, children: list[Token]) -> tuple[str, bool, Span]:
        return str(children[0]), False, self._tok(children[0])

    def target_description(self, meta: Any, children: list[Token]) -> tuple[str, bool, Span]:
        return _unquote(str(children[0])), True, self._tok(children[0])

    def knobs(self, meta: Any, children: list[Any]) -> tuple[str, tuple[ast.Setting, ...]]:
        return "knobs", children[-1]

    def prefs(self, meta: Any, children: list[Any]) -> tuple[str, tuple[ast.Setting, ...]]:
        return "prefs", children[-1]

    def task(self, meta: Any, children: list[Any]) -> ast.Task:
        name = str(children[0])
        target, by_description, target_span = children[1]
        args: tuple[ast.Ref, ...] = ()
        extra = {"knobs": (), "prefs": ()}
        for child in children[2:]:
            if isinstance(child, tuple) and child and isinstance(child[0], ast.Ref):
                args = child
            elif isinstance(child, tuple) and len(child) == 2 and child[0] in extra:
                extra[child[0]] = child[1]
        return ast.Task(name, target, by_description, args, extra["knobs"], extra["prefs"],
                        self._span(meta), target_span)

    def tasks(self, meta: Any, children: list[Any]) -> tuple[ast.Task, ...]:
        return tuple(children)

    def description(self, meta: Any, children: list[Token]) -> str:
        return _unquote(str(children[-1]))

    def or_replace(self, meta: Any, children: list[Any]) -> str:
        return "or_replace"

    def create_workflow(self, meta: Any, children: list[Any]) -> ast.CreateWorkflow:
        replace = "or_replace" in children
        name_tok = next(c for c in children if isinstance(c, Token) and c.type == "NAME")
        params: tuple[ast.Param, ...] = ()
        description = None
        tasks: tuple[ast.Task, ...] = ()
        for c in children:
            if isinstance(c, tuple) and c and isinstance(c[0], ast.Param):
                params = c
            elif isinstance(c, tuple) and c and isinstance(c[0], ast.Task):
                tasks = c
            elif isinstance(c, str) and not isinstance(c, Token) and c != "or_replace":
                description = c
        returns = children[-1]
        return ast.CreateWorkflow(str(name_tok), params, description, tasks, returns, replace,
                                  self._span(meta), self._tok(name_tok))

    # -- RUN ------------------------------------------------------------------
    def assuming(self, meta: Any, children: list[Any]) -> tuple[str, tuple[ast.Setting, ...]]:
        return "assuming", children[-1]

    def named_arg(self, meta: Any, children: list[Any]) -> ast.NamedArg:
        assuming = children[2][1] if len(children) > 2 else ()
        return ast.NamedArg(str(children[0]), children[1], assuming, self._span(meta))

    def named_args(self, meta: Any, children: list[Any]) -> tuple[ast.NamedArg, ...]:
        return tuple(children)

    def comparator(self, meta: Any, children: list[Token]) -> str:
        op = str(children[0])
        return {"==": "=", "<>": "!="}.get(op, op)

    def slo(self, meta: Any, children: list[Any]) -> ast.SloConstraint:
        return ast.SloConstraint(str(children[0]).lower(), children[1], children[2], self._span(meta))

    def slo_clause(self, meta: Any, children: list[Any]) -> tuple[str, tuple[ast.SloConstraint, ...]]:
        return "slos", tuple(c for c in children if isinstance(c, ast.SloConstraint))

    def objectives(self, meta: Any, children: list[Token]) -> tuple[str, tuple[ast.Objective, ...]]:
        out: list[ast.Objective] = []
        direction = "minimize"
        for tok in children:
            if tok.type == "DIRECTION":
                direction = "minimize" if tok.upper().startswith("MIN") else "maximize"
            elif tok.type == "NAME":
                out.append(ast.Objective(direction, str(tok).lower(), self._tok(tok)))
        return "objectives", tuple(out)

    def on_cluster(self, meta: Any, children: list[Token]) -> tuple[str, tuple[str, Span]]:
        tok = children[-1]
        value = _unquote(str(tok)) if tok.type == "STRING" else str(tok)
        return "cluster", (value, self._tok(tok))

    def _clauses(self, children: list[Any]) -> dict[str, Any]:
        """A statement's WITH SLO, goals and ON CLUSTER clauses. WITH SLO clauses join
        (the binder refuses a metric bound twice); goals and ON CLUSTER come at most once:
        a second would silently win, or silently become a THEN."""
        found: dict[str, Any] = {"slos": (), "objectives": (), "cluster": None}
        seen: set[str] = set()
        for c in children:
            if isinstance(c, tuple) and len(c) == 2 and c[0] in found and isinstance(c[0], str):
                kind, value = c
                if kind == "slos":
                    found[kind] = found[kind] + value
                    continue
                if kind in seen:
                    at = value[1] if kind == "cluster" else value[0].span
                    raise MurakkabError(*_REPEATED_CLAUSE[kind](at))
                seen.add(kind)
                found[kind] = value
        return found

    def run(self, meta: Any, children: list[Any]) -> ast.Run:
        target, by_description, target_span = children[1]
        args: tuple[ast.NamedArg, ...] = ()
        for c in children[2:]:
            if isinstance(c, tuple) and c and isinstance(c[0], ast.NamedArg):
                args = c
        clauses = self._clauses(children[2:])
        cluster = clauses["cluster"]
        return ast.Run(target, by_description, args, clauses["slos"], clauses["objectives"],
                       cluster[0] if cluster else None, self._span(meta), target_span,
                       cluster[1] if cluster else None)

    # -- other statements -----------------------------------------------------
    def explain(self, meta: Any, children: list[Any]) -> ast.Explain:
        toks = [c for c in children if isinstance(c, Token)]
        analyze = any(t.type == "ANALYZE" for t in toks)
        verbose = any(t.type == "VERBOSE" for t in toks)
        fmt_tok = next((t for t in toks if t.type == "NAME"), None)
        return ast.Explain(children[-1], analyze, verbose, str(fmt_tok).lower() if fmt_tok else None,
                           self._span(meta), self._tok(fmt_tok) if fmt_tok else None)

    def predicate(self, meta: Any, children: list[Any]) -> Span:
        return self._span(meta)

    def show(self, meta: Any, children: list[Any]) -> ast.Show:
        names = [c for c in children if isinstance(c, Token) and c.type == "NAME"]
        where = next((c for c in children if isinstance(c, Span)), None)
        quoted = next((c for c in children if isinstance(c, Token) and c.type == "STRING"), None)
        # FOR 'whisper-small-cpu': a quoted subject may hold what a name cannot (a dash).
        subject = _unquote(str(quoted)) if quoted is not None else str(names[1]) if len(names) > 1 else None
        return ast.Show(str(names[0]).lower(), subject, where.text if where else None, self._span(meta), where)

    def set_stmt(self, meta: Any, children: list[Any]) -> ast.SetStmt:
        return ast.SetStmt(str(children[1]).lower(), children[-1], self._span(meta), self._tok(children[1]))

    def fleet_rate(self, meta: Any, children: list[Token]) -> tuple[str, Any]:
        number = next(c for c in children if c.type == "NUMBER")
        period = next(c for c in children if c.type == "NAME")
        return "rate", (_number(number, self.source), str(period).lower(), self._span(meta))

    def fleet_trace(self, meta: Any, children: list[Any]) -> tuple[str, Any]:
        path = next(c for c in children if isinstance(c, Token) and c.type == "STRING")
        columns = next((c for c in children if isinstance(c, tuple)), ())
        return "trace", (ast.StringLit(_unquote(str(path)), self._tok(path)), columns, self._span(meta))

    def fleet_slo(self, meta: Any, children: list[Any]) -> ast.FleetSlo:
        share = _number(children[0], self.source) if isinstance(children[0], Token) else None
        return ast.FleetSlo(share, children[-1], self._span(meta))

    def fleet_slos(self, meta: Any, children: list[Any]) -> tuple[str, tuple[ast.FleetSlo, ...]]:
        return "fleet_slos", tuple(c for c in children if isinstance(c, ast.FleetSlo))

    def budget(self, meta: Any, children: list[Any]) -> tuple[str, tuple[ast.Setting, ...]]:
        return "budget", children[-1]

    def fleet_item(self, meta: Any, children: list[Any]) -> ast.FleetItem:
        ref = children[0]
        parts = {c[0]: c[1] for c in children[1:] if isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], str)}
        rate = period = trace = None
        columns: tuple[ast.Setting, ...] = ()
        if "rate" in parts:
            rate, period, load_span = parts["rate"]
        else:
            trace, columns, load_span = parts["trace"]
        return ast.FleetItem(ref, rate, period, trace, columns, parts.get("fleet_slos", ()),
                             parts.get("assuming", ()), self._span(meta), load_span)

    def plan_fleet(self, meta: Any, children: list[Any]) -> ast.PlanFleet:
        items = tuple(c for c in children if isinstance(c, ast.FleetItem))
        clauses = self._clauses(children)
        cluster = clauses["cluster"]
        budgets = tuple(s for c in children if isinstance(c, tuple) and len(c) == 2 and c[0] == "budget"
                        for s in c[1])
        return ast.PlanFleet(items, budgets, clauses["objectives"], cluster[0] if cluster else None,
                             self._span(meta))

    def __default__(self, data: str, children: list[Any], meta: Any) -> Any:  # pragma: no cover
        return Tree(data, children, meta)
