"""The diff between two renders of a view, in LiveView's wire form (client 1.1+).

A subtree whose statics are the same tuple as before sends only the dynamics that changed, by position;
one with new statics (another branch of an ``if``, a first render) is sent whole, with ``s``, which the
client takes as a replacement. Comprehensions use the keyed form: ``{"k": {"<n>": entry diff, "kc": count}}``
(``kc`` always, since the client sets its count from it). Unchanged parts are the same Python objects when
change tracking reused them, so most comparisons stop at an identity check.
"""

from __future__ import annotations

from typing import Any

from sfa.web.live.template import Comprehension, Dynamic, Rendered, entry_json


def diff(old: Rendered | None, new: Rendered) -> dict[str, Any]:
    """What turns ``old`` into ``new`` on the client; ``{}`` when nothing changed."""
    if old is None or old.statics is not new.statics:
        return new.to_json()
    return _positions(old.dynamics, new.dynamics)


def _positions(old: tuple[Dynamic, ...], new: tuple[Dynamic, ...]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for index, (before, after) in enumerate(zip(old, new, strict=True)):
        change = _value(before, after)
        if change is not None:
            changes[str(index)] = change
    return changes


def _value(before: Dynamic, after: Dynamic) -> Any | None:
    """The change at one position, or None when there is none."""
    if before is after:
        return None
    if isinstance(after, str):
        return None if isinstance(before, str) and before == after else after
    if isinstance(after, Rendered):
        if not isinstance(before, Rendered):
            return after.to_json()
        return diff(before, after) or None
    if not isinstance(before, Comprehension) or before.statics is not after.statics:
        return after.to_json()
    return _comprehension(before, after)


def _comprehension(before: Comprehension, after: Comprehension) -> dict[str, Any] | None:
    keyed: dict[str, Any] = {}
    for index, entry in enumerate(after.entries):
        if index >= len(before.entries):
            keyed[str(index)] = entry_json(entry)
        elif entry is not before.entries[index]:
            change = _positions(before.entries[index], entry)
            if change:
                keyed[str(index)] = change
    if not keyed and len(after.entries) == len(before.entries):
        return None
    keyed["kc"] = len(after.entries)
    return {"k": keyed}
