"""The specialist agents the Orchestrator routes to: each has its instructions and its tools.

Every specialist can also look tracks up, since a request names a track by its title as often as by its id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfa.agents import intents
from sfa.agents.tools import ANALYSIS_TOOLS, JOB_TOOLS, LIBRARY_TOOLS, MIXING_TOOLS, Tool

BASE_INSTRUCTIONS = (
    "You are the assistant of Sound Forge Alchemy, a music server that separates tracks into stems and "
    "analyses them. You work on the current user's own library only, through the tools given. Every fact you "
    "state about a track (title, artist, key, tempo, energy, stems) must come from a tool result in this "
    "conversation; never guess one. A track whose analysis is missing is unanalysed: say so and offer to "
    "analyse it. When a tool returns an error, tell the user plainly what it says. Keep replies short."
)


@dataclass(frozen=True, slots=True)
class Specialist:
    name: str
    instructions: str
    tools: tuple[Tool, ...]

    @property
    def system_prompt(self) -> str:
        return f"{BASE_INSTRUCTIONS}\n\n{self.instructions}"


LIBRARY = Specialist("library", "You find tracks in the user's library and describe them.", LIBRARY_TOOLS)
ANALYSIS = Specialist(
    "analysis", "You interpret a track's stored analysis: its key, tempo (BPM), energy and spectral features, "
    "in words a DJ or producer uses.", LIBRARY_TOOLS + ANALYSIS_TOOLS)
MIXING = Specialist(
    "mixing", "You suggest harmonic mixes: tracks in keys compatible on the Camelot wheel within a tempo window, "
    "ranked by suggest_mixes. Explain the key relation (same key, neighbour, relative) and the tempo change.",
    LIBRARY_TOOLS + MIXING_TOOLS)
JOBS = Specialist(
    "jobs", "You start analyses, stem separations and imports for the user and report the job id, or say why "
    "the tool refused.", LIBRARY_TOOLS + JOB_TOOLS)
GENERAL = Specialist(
    "general", "Answer the user's question; use the tools when it concerns their library.",
    LIBRARY_TOOLS + ANALYSIS_TOOLS + MIXING_TOOLS + JOB_TOOLS)

ROUTES = {
    intents.SEARCH: LIBRARY, intents.RECENT: LIBRARY, intents.TRACK: LIBRARY, intents.ANALYSIS: ANALYSIS,
    intents.MIXING: MIXING, intents.ANALYSE: JOBS, intents.SEPARATE: JOBS, intents.IMPORT: JOBS, intents.JOB: JOBS,
    intents.OPEN: GENERAL,
}


def specialist_for(label: str) -> Specialist:
    return ROUTES[label]
