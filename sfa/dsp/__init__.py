"""Feature extraction over an array backend `xp` (NumPy on CPU, CuPy on GPU)."""

from .analyze import FEATURE_GROUPS, analyze, analyze_file
from .backend import BACKENDS, BackendUnavailableError, array_module, get_xp, to_numpy
from .chroma import chroma_filterbank, chroma_stft
from .errors import AudioDecodeError, DspError, ParameterError
from .features import rms, spectral_centroid, spectral_rolloff, zero_crossing_rate
from .key import estimate_key, key_from_profile, key_scores
from .mel import hz_to_mel, mel_filterbank, mel_to_hz, melspectrogram, mfcc
from .rhythm import TempoEstimate, autocorrelation_tempo, beat_track, estimate_tempo, onset_strength, tempo
from .spectrum import fft_frequencies, frame_parameters, power_to_db, stft

__all__ = [
    "BACKENDS",
    "FEATURE_GROUPS",
    "AudioDecodeError",
    "BackendUnavailableError",
    "DspError",
    "ParameterError",
    "TempoEstimate",
    "analyze",
    "analyze_file",
    "array_module",
    "autocorrelation_tempo",
    "beat_track",
    "chroma_filterbank",
    "chroma_stft",
    "estimate_key",
    "estimate_tempo",
    "fft_frequencies",
    "frame_parameters",
    "get_xp",
    "hz_to_mel",
    "key_from_profile",
    "key_scores",
    "mel_filterbank",
    "mel_to_hz",
    "melspectrogram",
    "mfcc",
    "onset_strength",
    "power_to_db",
    "rms",
    "spectral_centroid",
    "spectral_rolloff",
    "stft",
    "tempo",
    "to_numpy",
    "zero_crossing_rate",
]
