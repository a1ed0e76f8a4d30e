"""The tools the agents use, grouped by the specialist that owns them, and the one way to call them."""

from __future__ import annotations

from collections.abc import Mapping

from sfa.agents.messages import ToolCall
from sfa.agents.tools.base import Result, Tool, ToolContext
from sfa.agents.tools.jobs import JOB_TOOLS
from sfa.agents.tools.library import ANALYSIS_TOOLS, LIBRARY_TOOLS
from sfa.agents.tools.mixing import MIXING_TOOLS

TOOLS: Mapping[str, Tool] = {tool.name: tool for tool in
                             (*LIBRARY_TOOLS, *ANALYSIS_TOOLS, *MIXING_TOOLS, *JOB_TOOLS)}


async def call_tool(context: ToolContext, call: ToolCall) -> Result:
    """Run the tool ``call`` names for the context's user; an unknown tool is an error result, not a crash."""
    tool = TOOLS.get(call.name)
    if tool is None:
        return {"error": f"there is no tool named {call.name!r}", "code": "UNKNOWN_TOOL"}
    return await tool(context, call.arguments)


def failed(result: Result) -> bool:
    return "error" in result and "code" in result


__all__ = ["ANALYSIS_TOOLS", "JOB_TOOLS", "LIBRARY_TOOLS", "MIXING_TOOLS", "TOOLS", "Result", "Tool", "ToolContext",
           "call_tool", "failed"]
