"""The separation engine's C++ libraries, built on first use against the installed torch and kept.

Each source next to this module is compiled with the system's C++ compiler (``CXX``, else ``c++``) into
:func:`cache_dir`, named by a hash of the source, the torch version, the flags and, for sources tuned to
this CPU, the CPU's features: a build is made once per machine and torch, and processes building at once
each install a whole library. :func:`build` raises OSError when there is no compiler or the build fails;
its callers then run without the library.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils import cpp_extension

TUNED = ("-O3", "-march=native", "-fopenmp")
"""Flags for a kernel: vectorised for this CPU, threaded with torch's OpenMP runtime."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sfa" / "native"


def _cpu_features() -> bytes:
    try:
        with open("/proc/cpuinfo", "rb") as info:
            return next((line for line in info if line.startswith(b"flags")), b"")
    except OSError:
        return b""


def build(source: Path, *, flags: Sequence[str] = ("-O2",), libraries: Sequence[str] = ("c10",)) -> Path:
    """The shared library of ``source``, compiled with ``flags`` and linked with torch's ``libraries``,
    unless a build of them is cached."""
    text = source.read_bytes()
    tuned = "-march=native" in flags
    tag = hashlib.sha256(b"\0".join([text, torch.__version__.encode(), " ".join([*flags, *libraries]).encode(),
                                     _cpu_features() if tuned else b""])).hexdigest()[:16]
    library = cache_dir() / f"{source.stem}-{tag}.so"
    if library.exists():
        return library
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        raise OSError(f"no C++ compiler ({compiler}) to build {source.name}")
    library.parent.mkdir(parents=True, exist_ok=True)
    abi = int(torch.compiled_with_cxx11_abi())
    with tempfile.TemporaryDirectory(dir=library.parent) as scratch:
        built = Path(scratch) / library.name
        command = [compiler, *flags, "-std=c++17", "-shared", "-fPIC", f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
                   *(f"-I{path}" for path in cpp_extension.include_paths()), str(source), "-o", str(built),
                   *(f"-L{path}" for path in cpp_extension.library_paths()), *(f"-l{name}" for name in libraries),
                   *(f"-Wl,-rpath,{path}" for path in cpp_extension.library_paths())]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise OSError(f"building {source.name} failed: {done.stderr[-2000:]}")
        built.replace(library)
    return library
