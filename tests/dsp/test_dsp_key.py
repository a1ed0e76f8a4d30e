"""Key estimation on synthesized chord progressions in all 24 keys (I-IV-V-I, minor with a major V)."""

import numpy as np
import pytest
from dsp_synth import NOTE_NAMES, chord_progression, key_name

from sfa import dsp

KEYS = [(tonic, mode) for mode in ("major", "minor") for tonic in range(12)]


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 96000])
def test_at_least_22_of_24_keys(sr: int, xp) -> None:
    found = {
        key_name(tonic, mode): dsp.estimate_key(y=xp.asarray(chord_progression(tonic, mode, sr=sr)), sr=sr)
        for tonic, mode in KEYS
    }
    correct = [name for name, (estimate, _) in found.items() if estimate == name]
    assert len(correct) >= 22, found
    assert all(0.0 < confidence <= 1.0 for _, confidence in found.values())


def test_analyze_names_the_key() -> None:
    result = dsp.analyze(chord_progression(9, "minor", sr=44100), 44100, features=["key"])
    assert result["key"] == "A minor"
    assert 0.5 < result["key_confidence"] <= 1.0


def test_key_names_use_sharps() -> None:
    assert set(dsp.key_scores(np.ones(12) + np.eye(12)[1])) == {
        f"{name} {mode}" for name in NOTE_NAMES for mode in ("major", "minor")
    }


def test_flat_profile_has_no_key() -> None:
    assert dsp.key_from_profile(np.zeros(12)) == (None, 0.0)
    with pytest.raises(dsp.ParameterError, match="12"):
        dsp.key_from_profile(np.ones(7))
