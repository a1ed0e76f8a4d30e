"""The supervision tree as text, one line per node, for ``python3 run.py status``."""

from __future__ import annotations

from typing import Any


def render(tree: dict[str, Any]) -> str:
    return "\n".join(_lines(tree, "", "", True))


def _lines(node: dict[str, Any], lead: str, child_lead: str, root: bool) -> list[str]:
    lines = [lead + describe(node)]
    children = node.get("children", [])
    for index, child in enumerate(children):
        last = index == len(children) - 1
        lines += _lines(child, child_lead + ("└─ " if last else "├─ "), child_lead + ("   " if last else "│  "),
                        False)
    return lines


def describe(node: dict[str, Any]) -> str:
    parts = [node["name"], node["type"]]
    if "strategy" in node:
        intensity = node["intensity"]
        parts.append(f"{node['strategy']} (max {intensity['max_restarts']} in {intensity['period_s']:g}s)")
    parts.append(node["state"])
    if node.get("pid") is not None:
        parts.append(f"pid {node['pid']}")
    if node.get("device"):
        parts.append(node["device"])
    if node.get("current_job") is not None:
        parts.append(f"job {node['current_job']}")
    parts.append(f"mailbox {node['mailbox_depth']}")
    parts.append(f"restarts {node['restarts']}")
    if node.get("uptime_s") is not None:
        parts.append(f"up {node['uptime_s']:.1f}s")
    if node.get("last_exit"):
        parts.append(f"last exit: {node['last_exit']}")
    return "  ".join(parts)
