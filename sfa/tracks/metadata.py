"""The track fields a client may change, and the rules their values follow (``PATCH /api/tracks/:id``)."""

from __future__ import annotations

from typing import Any

from sfa.dsp.key import PITCH_CLASSES

KEYS = tuple(f"{tonic} {mode}" for mode in ("major", "minor") for tonic in PITCH_CLASSES)
BPM_RANGE = (20, 300)
MAX_TITLE = 200
MAX_TAGS = 20
MAX_TAG = 40


def _title(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TITLE:
        return f"must be a non-empty string of at most {MAX_TITLE} characters"
    return None


def _bpm(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not BPM_RANGE[0] <= value <= BPM_RANGE[1]:
        return f"must be a number from {BPM_RANGE[0]} to {BPM_RANGE[1]}"
    return None


def _key(value: Any) -> str | None:
    if value is None or value in KEYS:
        return None
    return 'must be one of the 24 keys, like "A minor" or "C# major"'


def _tags(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_TAGS or not all(
            isinstance(tag, str) and 0 < len(tag) <= MAX_TAG for tag in value):
        return f"must be a list of at most {MAX_TAGS} strings of 1 to {MAX_TAG} characters"
    return None


CHECKS = {"title": _title, "bpm": _bpm, "key": _key, "tags": _tags}


def changes_or_errors(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The valid changes in ``body`` and, per field, what is wrong with the rest."""
    errors = {field: ["is not a field that can be changed"] for field in sorted(set(body) - set(CHECKS))}
    changes = {}
    for field, check in CHECKS.items():
        if field not in body:
            continue
        if (problem := check(body[field])) is not None:
            errors[field] = [problem]
        else:
            changes[field] = body[field].strip() if field == "title" else body[field]
    if not body:
        errors["body"] = [f"give at least one of {', '.join(CHECKS)}"]
    return changes, errors
