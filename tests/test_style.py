"""The tree stays ruff clean (the rules are in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format=concise", str(ROOT)],
                            capture_output=True, text=True, cwd=ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
