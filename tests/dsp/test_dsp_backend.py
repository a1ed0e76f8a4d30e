"""Backend selection: NumPy by default, CuPy on request or when `auto` finds a GPU."""

import importlib.util

import numpy as np
import pytest

from sfa import dsp

HAS_CUPY = importlib.util.find_spec("cupy") is not None


def test_numpy_is_the_default_and_names_are_read_in_any_case() -> None:
    assert dsp.get_xp() is np
    assert dsp.get_xp(" NumPy ") is np


@pytest.mark.skipif(HAS_CUPY, reason="only meaningful where CuPy is absent")
def test_auto_falls_back_to_numpy_and_cupy_is_refused() -> None:
    assert dsp.get_xp("auto") is np
    with pytest.raises(dsp.BackendUnavailableError, match="CuPy"):
        dsp.get_xp("cupy")


def test_unknown_backend_is_an_error() -> None:
    with pytest.raises(dsp.ParameterError, match="unknown DSP backend"):
        dsp.get_xp("torch")


def test_numpy_arrays_stay_on_numpy() -> None:
    y = np.zeros(4096, dtype=np.float32)
    assert dsp.array_module(y) is np
    assert dsp.to_numpy(y) is y
    assert isinstance(dsp.stft(y, xp=dsp.get_xp("numpy")), np.ndarray)


@pytest.mark.skipif(not HAS_CUPY, reason="CuPy is not installed")
def test_cupy_gives_the_numpy_answer() -> None:
    cupy = dsp.get_xp("cupy")
    y = np.random.default_rng(0).standard_normal(22050 * 3).astype(np.float32)
    on_gpu = dsp.melspectrogram(y=cupy.asarray(y), sr=22050)
    np.testing.assert_allclose(dsp.to_numpy(on_gpu), dsp.melspectrogram(y=y, sr=22050), rtol=1e-3, atol=1e-3)
    assert dsp.analyze(y, 22050, xp=cupy)["key"] == dsp.analyze(y, 22050)["key"]
