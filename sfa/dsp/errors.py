"""The one root of what ``sfa.dsp`` raises for bad input, as librosa's ``ParameterError``.

A caller that feeds user audio catches :class:`DspError` and nothing wider: any other exception out of
``sfa.dsp`` is a bug in it, and must surface as one (a crash its supervisor counts), not as bad audio.
"""

from __future__ import annotations


class DspError(Exception):
    """Input ``sfa.dsp`` cannot work with: a bad argument, or audio it cannot decode or use."""


class ParameterError(DspError, ValueError):
    """An argument out of its domain: a shape, a range, NaN or empty audio."""


class AudioDecodeError(DspError):
    """The file is not audio libsndfile can decode."""
