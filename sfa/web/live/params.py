"""Form values as LiveView clients send them (``user%5Bemail%5D=a&user%5B_unused_name%5D=``), decoded into
nested dicts the way Plug decodes a request body: ``{"user": {"email": "a", "_unused_name": ""}}``."""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import parse_qsl

KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def decode_form(encoded: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in parse_qsl(encoded, keep_blank_values=True):
        put(params, name, value)
    return params


def put(params: dict[str, Any], name: str, value: str) -> None:
    """Set ``name`` (``a[b][c]``; ``a[]`` appends to a list) to ``value`` inside ``params``."""
    head, _, tail = name.partition("[")
    keys = [head, *KEY_PART.findall("[" + tail)] if tail else [head]
    target = params
    for key, following in itertools.pairwise(keys):
        child = target.get(key)
        if not isinstance(child, dict | list):
            child = [] if following == "" else {}
            target[key] = child
        if isinstance(child, list):
            child.append(value)
            return
        target = child
    if isinstance(target, dict):
        target[keys[-1]] = value
