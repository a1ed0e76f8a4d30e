"""The deterministic intent parser: what each phrasing asks for, and which track it names."""

from __future__ import annotations

import pytest

from sfa.agents import intents
from sfa.agents.intents import Intent, TrackRef, parse


@pytest.mark.parametrize(("message", "intent"), [
    ("What key is my last import in?", Intent(intents.ANALYSIS, TrackRef(newest=True))),
    ("what in my library mixes well after track 12", Intent(intents.MIXING, TrackRef(id=12))),
    ("separate the vocals of the Daft Punk track", Intent(intents.SEPARATE, TrackRef(words="Daft Punk"))),
    ("Analyse #7 please", Intent(intents.ANALYSE, TrackRef(id=7))),
    ("please import https://example.com/a.wav.", Intent(intents.IMPORT, url="https://example.com/a.wav")),
    ("find tracks by Daft Punk", Intent(intents.SEARCH, query="Daft Punk")),
    ("search for Around the World", Intent(intents.SEARCH, query="Around the World")),
    ("how far along is job 5?", Intent(intents.JOB, job_id=5)),
    ('what is the tempo of "One More Time"', Intent(intents.ANALYSIS, TrackRef(words="One More Time"))),
    ("show my tracks", Intent(intents.RECENT)),
    ("tell me about track 3", Intent(intents.TRACK, TrackRef(id=3))),
    ("what key is it in?", Intent(intents.ANALYSIS)),
    ("Tell me a joke about drummers", Intent(intents.OPEN)),
])
def test_each_phrasing_has_its_intent(message, intent):
    assert parse(message) == intent
