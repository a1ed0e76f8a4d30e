"""Templates that split into LiveView's statics and dynamics by themselves.

A template is HTML with three kinds of holes::

    <h1>{title}</h1>                                  an expression, HTML-escaped (a Safe or Rendered is kept)
    {% if track.bpm %}<b>{track.bpm}</b>{% else %}-{% end %}
    <ul>{% for track in tracks %}<li>{track.title}</li>{% end %}</ul>

Expressions are Python, evaluated against the assigns (and the loop variables); ``{{`` and ``}}`` are
literal braces. Parsing happens once per template: each block's static text becomes one tuple that every
render shares, so the diff engine (:mod:`sfa.web.live.diff`) knows a subtree by its statics' identity and
sends them once. Change tracking: a hole whose names did not change since the previous render is not
evaluated again; its previous value is reused (Phoenix does the same with its ``__changed__`` map).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from types import CodeType
from typing import Any, Union

Dynamic = Union[str, "Rendered", "Comprehension"]

SAFE_BUILTINS = {name: getattr(builtins, name)
                 for name in ("len", "round", "int", "float", "str", "min", "max", "enumerate", "sorted",
                              "sum", "abs", "any", "all", "range", "zip", "isinstance", "list", "dict", "format")}
TOKEN = re.compile(r"\{\{|\}\}|\{%\s*(.*?)\s*%\}|\{([^{}]+)\}", re.S)


class Safe(str):
    """Text that is already HTML and goes into the page unescaped."""


@dataclass(frozen=True, slots=True, eq=False)
class Rendered:
    """One rendered block: its statics (shared by every render of the block) between its dynamics."""

    statics: tuple[str, ...]
    dynamics: tuple[Dynamic, ...]

    def to_json(self, shared: Shared | None = None) -> dict[str, Any]:
        tree: dict[str, Any] = {str(i): _json(value, shared) for i, value in enumerate(self.dynamics)}
        tree["s"] = list(self.statics) if shared is None else shared.index(self.statics)
        return tree

    def to_html(self) -> str:
        parts = [self.statics[0]]
        for value, static in zip(self.dynamics, self.statics[1:], strict=True):
            parts.append(value if isinstance(value, str) else value.to_html())
            parts.append(static)
        return "".join(parts)


@dataclass(frozen=True, slots=True, eq=False)
class Comprehension:
    """A ``for`` block: one statics tuple, one tuple of dynamics per item (sent as LiveView's keyed ``k``)."""

    statics: tuple[str, ...]
    entries: tuple[tuple[Dynamic, ...], ...]

    def to_json(self, shared: Shared | None = None) -> dict[str, Any]:
        """The keyed form; the statics of the trees inside the entries go once into the comprehension's
        template table ``p`` (their ``s`` is an index there), not once per entry."""
        inner = Shared() if shared is None else shared
        keyed: dict[str, Any] = {str(n): entry_json(entry, inner) for n, entry in enumerate(self.entries)}
        keyed["kc"] = len(self.entries)
        tree: dict[str, Any] = {"s": list(self.statics) if shared is None else shared.index(self.statics),
                                "k": keyed}
        if shared is None and inner.table:
            tree["p"] = {str(n): list(statics) for n, statics in enumerate(inner.table)}
        return tree

    def to_html(self) -> str:
        return "".join(Rendered(self.statics, entry).to_html() for entry in self.entries)


class Shared:
    """A comprehension's template table: each distinct statics tuple once, by identity."""

    def __init__(self) -> None:
        self.table: list[tuple[str, ...]] = []
        self._index: dict[int, int] = {}

    def index(self, statics: tuple[str, ...]) -> int:
        if id(statics) not in self._index:
            self._index[id(statics)] = len(self.table)
            self.table.append(statics)
        return self._index[id(statics)]


def entry_json(entry: tuple[Dynamic, ...], shared: Shared | None = None) -> dict[str, Any]:
    return {str(i): _json(value, shared) for i, value in enumerate(entry)}


def _json(value: Dynamic, shared: Shared | None = None) -> Any:
    return value if isinstance(value, str) else value.to_json(shared)


def to_dynamic(value: Any) -> Dynamic:
    """What a hole's value becomes: nested trees stay trees, anything else escaped text (None is empty)."""
    if isinstance(value, Rendered | Comprehension | Safe):
        return value
    if value is None or value is False:
        return ""
    return escape(str(value), quote=True)


class TemplateError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class _Expr:
    source: str
    code: CodeType
    names: frozenset[str]
    helpers: dict[str, Any]

    def render(self, namespace: Mapping[str, Any]) -> Dynamic:
        return to_dynamic(self.evaluate(namespace))

    def evaluate(self, namespace: Mapping[str, Any]) -> Any:
        try:
            return eval(self.code, self.helpers, namespace)  # a developer's template, never input
        except Exception as exc:
            raise TemplateError(f"{{{self.source}}} failed: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _If:
    condition: _Expr
    then: _Block
    otherwise: _Block
    names: frozenset[str]

    def render(self, namespace: Mapping[str, Any]) -> Dynamic:
        return (self.then if self.condition.evaluate(namespace) else self.otherwise).render(namespace)


@dataclass(frozen=True, slots=True)
class _For:
    targets: tuple[str, ...]
    iterable: _Expr
    body: _Block
    names: frozenset[str]

    def render(self, namespace: Mapping[str, Any]) -> Dynamic:
        entries = []
        scope = dict(namespace)
        for item in self.iterable.evaluate(namespace):
            if len(self.targets) == 1:
                scope[self.targets[0]] = item
            else:
                scope.update(zip(self.targets, item, strict=True))
            entries.append(self.body.values(scope))
        return Comprehension(self.body.statics, tuple(entries))


_Hole = _Expr | _If | _For


@dataclass(frozen=True, slots=True)
class _Block:
    statics: tuple[str, ...]
    holes: tuple[_Hole, ...]

    def values(self, namespace: Mapping[str, Any]) -> tuple[Dynamic, ...]:
        return tuple(hole.render(namespace) for hole in self.holes)

    def render(self, namespace: Mapping[str, Any], changed: Iterable[str] | None = None,
               previous: Rendered | None = None) -> Rendered:
        if changed is None or previous is None or previous.statics is not self.statics:
            return Rendered(self.statics, self.values(namespace))
        changed = set(changed)
        return Rendered(self.statics, tuple(
            old if hole.names.isdisjoint(changed) else hole.render(namespace)
            for hole, old in zip(self.holes, previous.dynamics, strict=True)))

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(hole.names for hole in self.holes))


class Template:
    """A parsed template; ``render(assigns)`` gives a :class:`Rendered`, calling it gives one too."""

    def __init__(self, source: str, helpers: Mapping[str, Any] | None = None) -> None:
        """``helpers``: names besides the assigns that expressions may use (functions, other templates);
        they never count as changed."""
        self.source = source
        tokens = list(_tokens(source))
        scope = {"__builtins__": SAFE_BUILTINS, **(helpers or {})}
        block, _, end = _parse(tokens, 0, (), scope)
        if end is not None:
            raise TemplateError(f"unexpected {{% {end} %}}")
        self._block = block

    def render(self, assigns: Mapping[str, Any], *, changed: Iterable[str] | None = None,
               previous: Rendered | None = None) -> Rendered:
        """Render; with ``changed`` and the ``previous`` render, holes over unchanged names are reused."""
        return self._block.render(assigns, changed, previous)

    def __call__(self, **assigns: Any) -> Rendered:
        return self._block.render(assigns)


def _tokens(source: str) -> Iterable[tuple[str, str]]:
    """("text", s), ("expr", source) and ("tag", source) in order."""
    position = 0
    for match in TOKEN.finditer(source):
        if match.start() > position:
            yield "text", source[position:match.start()]
        position = match.end()
        whole = match.group(0)
        if whole in ("{{", "}}"):
            yield "text", whole[0]
        elif match.group(1) is not None:
            yield "tag", match.group(1)
        else:
            yield "expr", match.group(2).strip()
    if position < len(source):
        yield "text", source[position:]


def _compile(source: str, loop_names: tuple[str, ...], helpers: dict[str, Any]) -> _Expr:
    try:
        code = compile(source, f"<template {{{source}}}>", "eval")
    except SyntaxError as exc:
        raise TemplateError(f"{{{source}}} is not a Python expression: {exc.msg}") from None
    return _Expr(source, code, _free_names(code) - set(loop_names) - set(helpers), helpers)


def _free_names(code: CodeType) -> frozenset[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):  # comprehensions and lambdas inside an expression
            names |= _free_names(const)
    return frozenset(names)


def _parse(tokens: list[tuple[str, str]], index: int, loop_names: tuple[str, ...],
           helpers: dict[str, Any]) -> tuple[_Block, int, str | None]:
    """Parse until ``end``/``else`` (returned as the third item) or the end of the tokens."""
    statics: list[str] = [""]
    holes: list[_Hole] = []
    while index < len(tokens):
        kind, value = tokens[index]
        index += 1
        if kind == "text":
            statics[-1] += value
            continue
        if kind == "expr":
            holes.append(_compile(value, loop_names, helpers))
            statics.append("")
            continue
        word, _, rest = value.partition(" ")
        if word in ("end", "else"):
            return _Block(tuple(statics), tuple(holes)), index, word
        if word == "if":
            condition = _compile(rest, loop_names, helpers)
            then, index, stop = _parse(tokens, index, loop_names, helpers)
            otherwise = _Block(("",), ())
            if stop == "else":
                otherwise, index, stop = _parse(tokens, index, loop_names, helpers)
            if stop != "end":
                raise TemplateError(f"{{% if {rest} %}} has no {{% end %}}")
            holes.append(_If(condition, then, otherwise, condition.names | then.names | otherwise.names))
        elif word == "for":
            targets_text, sep, iterable = rest.partition(" in ")
            targets = tuple(name.strip() for name in targets_text.split(","))
            if not sep or not all(name.isidentifier() for name in targets):
                raise TemplateError(f"{{% for {rest} %}}: expected 'for NAME[, NAME] in EXPRESSION'")
            source = _compile(iterable, loop_names, helpers)
            body, index, stop = _parse(tokens, index, loop_names + targets, helpers)
            if stop != "end":
                raise TemplateError(f"{{% for {rest} %}} has no {{% end %}}")
            holes.append(_For(targets, source, body, source.names | (body.names - set(targets))))
        else:
            raise TemplateError(f"unknown tag {{% {value} %}}: use if, else, for and end")
        statics.append("")
    return _Block(tuple(statics), tuple(holes)), index, None

