from collections.abc import Iterator
from pathlib import Path

import pytest

from sfa.separation.engine import Engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A CPU engine (no GPU in the test run) with an empty hub cache."""
    yield Engine("cpu", hub=tmp_path / "hub", budget_bytes=1 << 30, max_batch=4)
