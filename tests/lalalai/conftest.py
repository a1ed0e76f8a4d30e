from pathlib import Path

import pytest

from sfa.config import Config
from tests.lalalai.fake_lalalai import KEY, FakeLalalai


@pytest.fixture
def config(tmp_path: Path, database_url: str, lalalai: FakeLalalai) -> Config:
    """The server's settings, pointed at the fake lalal.ai with its key."""
    return Config.from_env({"SFA_VAR_DIR": str(tmp_path / "var"), "SFA_DATA_DIR": str(tmp_path / "data"),
                            "DATABASE_URL": database_url, "SFA_LALALAI_URL": lalalai.base_url,
                            "SFA_LALALAI_KEY": KEY})
