"""The committed bundle is what ``npm run build`` makes from the pinned packages, so it is never stale."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.phoenix.conftest import node_client  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_bundle_matches_a_fresh_build(node_client, tmp_path):  # noqa: F811
    if shutil.which("npm") is None:
        pytest.skip("npm is needed to rebuild the bundle")
    before = {path.name: path.read_bytes() for path in (ROOT / "sfa/web/static").iterdir()}
    result = subprocess.run(["npm", "run", "--silent", "build"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    after = {path.name: path.read_bytes() for path in (ROOT / "sfa/web/static").iterdir()}
    assert after == before, "the bundle is stale: run npm run build and commit sfa/web/static"
