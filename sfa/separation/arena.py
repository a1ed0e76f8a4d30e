"""Planned memory for the CPU's forwards: every chunk of a model reuses one block, laid out by the first.

A forward allocates and frees the same sequence of tensors for every input of one shape (HTDemucs: about
1,200 tensors, 7.8 GB for a 7.8 s chunk, 0.36 GB of it alive at once). glibc either keeps freed memory in
a heap that fragments (the resident size grows to 2.6 times the live set) or, with a low mmap threshold,
returns it and pays every later tensor in page faults and kernel page zeroing (about half as much system
time as the forward's own CPU time). :func:`planned` runs a block of code under a plan instead: the first
run of a key records the thread's allocations and their lives, and lays those that die within the run
out in one block, at offsets where no two allocations alive at once overlap (largest first, the lowest
free offset: within a few percent of the live set). Each later run of the key hands the n-th allocation
its planned place, without a fault, the block staying mapped between runs. A run that departs from the
plan (another size, a tensor kept longer) takes the rest from the usual allocator, so a plan can cost
speed, never correctness; after a departure the next run records anew. One plan is kept: while it is in
use and has been replayed, a run of another key (a track's last, shorter chunk, which torchaudio's
HDemucs takes at its own length) runs unplanned rather than costing the plan, unless that key ran just
before, which makes it the new workload. :func:`release` gives the block back between jobs and keeps the
layout for the next run of its key.

The allocator is a small C++ library (``arena.cpp``) wrapping PyTorch's CPU allocator, compiled on first
use against the installed torch (a few seconds, kept: :mod:`native`). Without a C++ compiler
:func:`install` returns False and :func:`planned` runs its block unplanned.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Hashable, Iterator
from pathlib import Path

from sfa.separation import native

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("arena.cpp")
_installed: ctypes.CDLL | None = None
_lock = threading.Lock()


def library() -> Path:
    """The allocator's library, built unless cached (OSError when it cannot be)."""
    return native.build(SOURCE)


def install() -> bool:
    """Put the planned allocator in front of PyTorch's CPU allocator (once per process; it only delegates
    outside :func:`planned`). False, logged, when the library cannot be built."""
    global _installed
    with _lock:
        if _installed is None:
            try:
                loaded = ctypes.CDLL(str(library()))
            except OSError as exc:
                log.warning("planned CPU memory unavailable, allocating as usual: %s", exc)
                return False
            loaded.sfa_arena_install.restype = ctypes.c_bool
            loaded.sfa_arena_begin.argtypes = [ctypes.c_uint64]
            loaded.sfa_arena_end.restype = loaded.sfa_arena_bytes.restype = ctypes.c_uint64
            if not loaded.sfa_arena_install():
                log.warning("planned CPU memory unavailable: PyTorch's CPU allocator frees by context")
                return False
            _installed = loaded
        return True


@contextlib.contextmanager
def planned(key: Hashable) -> Iterator[None]:
    """Run the block under ``key``'s plan (recording it on the first run; another key's run records anew,
    or, while a replayed plan is in use, runs unplanned once). One thread at a time; without
    :func:`install`, the block as is."""
    if _installed is None:
        yield
        return
    _installed.sfa_arena_begin(hash(key) & (2**64 - 1))
    try:
        yield
    finally:
        _installed.sfa_arena_end()


def release() -> None:
    """Give the plan's block back (once nothing allocated from it is alive); the next run of its key maps
    a fresh one, laid out as before."""
    if _installed is not None:
        _installed.sfa_arena_release()


def held_bytes() -> int:
    """Bytes of the blocks plans hold."""
    return 0 if _installed is None else _installed.sfa_arena_bytes()
