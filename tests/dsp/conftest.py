"""The DSP tests run on every usable array backend: NumPy always, CuPy where it sees a GPU."""

from types import ModuleType

import pytest

from sfa import dsp


def usable_backends() -> list[str]:
    try:
        dsp.get_xp("cupy")
    except dsp.BackendUnavailableError:
        return ["numpy"]
    return ["numpy", "cupy"]


@pytest.fixture(params=usable_backends())
def xp(request: pytest.FixtureRequest) -> ModuleType:
    return dsp.get_xp(request.param)
