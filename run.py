#!/usr/bin/env python3
"""Bootstrap and run Sound Forge Alchemy.

``python3 run.py [COMMAND ...]`` needs only Python 3.11+: it makes sure ``.venv`` holds the
dependencies declared in ``setup.cfg``, then hands the command line to ``python -m sfa`` inside it.

The environment itself lives in a cache outside the clone (``$SFA_VENV_CACHE``, default
``~/.cache/sfa/venvs``), one per Python version, and ``.venv`` is a symlink to it. Stamp files record the
dependency lines installed there, so a second clone, or CI on a fresh checkout, reuses it in a second, and
a changed line installs only what changed. The project itself is not installed into the environment: it runs from this
checkout, so one environment serves every clone with the same dependencies.
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LINK = ROOT / ".venv"
TEST_COMMANDS = {"test"}
LOCAL_EXTRAS = ("test",)

if sys.version_info < (3, 11):  # noqa: UP036 -- run.py starts under whatever python3 is on PATH
    sys.exit(f"Sound Forge Alchemy needs Python 3.11 or newer; this is {sys.version.split()[0]}.")


def step(name: str, message: str) -> None:
    print(f"{name}: {message}", flush=True)


def requirement_groups() -> dict[str, list[str]]:
    """setup.cfg's dependency lines by group: ``runtime`` (install_requires) and each local extra."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    groups = {"runtime": cfg.get("options", "install_requires")}
    groups.update((name, value) for name, value in cfg.items("options.extras_require") if name in LOCAL_EXTRAS)
    return {name: [line.strip() for line in value.splitlines() if line.strip()] for name, value in groups.items()}


def venv_home() -> Path:
    cache = Path(os.environ.get("SFA_VENV_CACHE", Path.home() / ".cache" / "sfa" / "venvs"))
    return cache / f"py{sys.version_info.major}{sys.version_info.minor}"


def stamped(home: Path, group: str) -> list[str] | None:
    stamp = home / f".sfa-{group}"
    return stamp.read_text().splitlines() if stamp.exists() else None


@contextlib.contextmanager
def locked(path: Path):
    """Serialise bootstraps that share one cached environment (two clones starting at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_venv(groups: dict[str, list[str]], wanted: list[str]) -> Path:
    """Create or reuse the cached environment; install each wanted group whose declared lines differ from
    those stamped there. pip skips what is already satisfied, so a change costs only what changed."""
    home = venv_home()
    with locked(home.with_suffix(".lock")):
        if (home / "pyvenv.cfg").exists():
            step("venv", f"reusing {home}")
        else:
            step("venv", f"creating {home}")
            venv.EnvBuilder(with_pip=True, clear=True).create(home)
        missing = [name for name in wanted if stamped(home, name) != groups[name]]
        if not missing:
            step("install", f"{' + '.join(wanted)} dependencies up to date")
        for name in missing:
            step("install", f"installing {name} dependencies from setup.cfg (a first install takes minutes)")
            subprocess.run(
                [str(home / "bin" / "python"), "-m", "pip", "install", "-qq",
                 "--disable-pip-version-check", *groups[name]],
                check=True,
            )
            (home / f".sfa-{name}").write_text("\n".join(groups[name]) + "\n")
    if LINK.is_symlink() or not LINK.exists():
        if not LINK.is_symlink() or LINK.readlink() != home:
            LINK.unlink(missing_ok=True)
            LINK.symlink_to(home)
        return LINK
    return home


def main(argv: list[str]) -> int:
    command = argv[0] if argv and not argv[0].startswith("-") else "serve"
    wanted = ["runtime", "test"] if command in TEST_COMMANDS else ["runtime"]
    try:
        env_dir = ensure_venv(requirement_groups(), wanted)
    except subprocess.CalledProcessError as exc:
        print(f"install: failed ({exc})", file=sys.stderr)
        return 1
    python = env_dir / "bin" / "python"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    os.chdir(ROOT)
    os.execve(python, [str(python), "-m", "sfa", *argv], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
