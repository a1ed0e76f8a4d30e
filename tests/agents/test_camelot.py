"""The Camelot wheel: codes of key names, which keys blend, and ranking within a tempo window."""

from __future__ import annotations

import pytest

from sfa.agents.camelot import CamelotKey, Candidate, camelot, compatible_codes, rank_mixes


@pytest.mark.parametrize(("key", "code"), [
    ("C major", "8B"), ("A minor", "8A"), ("G major", "9B"), ("E minor", "9A"), ("B major", "1B"),
    ("G# minor", "1A"), ("Ab minor", "1A"), ("Bbm", "3A"), ("F# minor", "11A"), ("Db major", "3B"),
    ("C# minor", "12A"), ("E major", "12B"), ("10b", "10B"),
])
def test_every_spelling_of_a_key_has_its_code(key, code):
    assert str(camelot(key)) == code


@pytest.mark.parametrize("key", [None, "", "H major", "C lydian", "13A", "8C"])
def test_what_is_not_a_key_has_no_code(key):
    assert camelot(key) is None


def test_compatible_keys_wrap_round_the_wheel():
    assert [str(c) for c in compatible_codes(CamelotKey(12, "B"))] == ["12B", "1B", "11B", "12A"]
    assert [str(c) for c in compatible_codes(CamelotKey(1, "A"))] == ["1A", "2A", "12A", "1B"]
    assert CamelotKey(1, "A").distance(CamelotKey(12, "A")) == 1
    assert CamelotKey(1, "A").distance(CamelotKey(12, "B")) is None


def test_ranking_puts_the_same_key_first_then_the_closer_tempo():
    candidates = [Candidate(1, 128.0, "A minor"), Candidate(2, 125.0, "C major"), Candidate(3, 124.0, "A minor"),
                  Candidate(4, 124.0, "F major"), Candidate(5, 140.0, "A minor"), Candidate(6, 124.0, "D minor")]

    ranked = rank_mixes(124.0, "A minor", candidates, tempo_window_pct=6)

    assert [s.track_id for s in ranked] == [3, 1, 6, 2]
    assert (ranked[1].tempo_difference_pct, ranked[1].key_distance) == (3.23, 0)
