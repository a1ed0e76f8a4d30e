"""Uploads are decoded outside the server process, a bounded number at a time, under a CPU and a time limit.

Telling whether an upload is audio means decoding all of it (:func:`sfa.tracks.audio.probe`), and the file is
the client's: a tiny FLAC can expand to hours of samples, a crafted header can send a decoder spinning. Done in
the server, that would hold one of the event loop's threads per upload, and a few such files would stall it.
So each probe runs in a child process forked from a ``forkserver`` (a clean process that imported only the
decoder, never the server's threads or sockets), with ``RLIMIT_CPU`` set, and the server kills the child when
the wall-clock limit passes. A semaphore caps the children running at once; further uploads wait their turn.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from multiprocessing.connection import Connection
from pathlib import Path

from sfa.tracks.audio import AudioInfo, NotAudio, probe

PRELOAD = ["sfa.tracks.audio"]


def _probe_in_child(path: Path, conn: Connection, cpu_s: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    try:
        info = probe(path)
    except NotAudio as exc:
        conn.send(("not audio", str(exc)))
    else:
        conn.send(("audio", (info.format, info.frames, info.sample_rate, info.channels)))
    finally:
        conn.close()


class DecoderPool:
    """Runs :func:`probe` on untrusted files in limited child processes; see the module docstring."""

    def __init__(self, *, workers: int, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(workers)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)

    async def probe(self, path: Path) -> AudioInfo:
        """What :func:`probe` says of ``path``; NotAudio also when decoding breaks a limit."""
        async with self._slots:
            return await asyncio.to_thread(self._run, path)

    def _run(self, path: Path) -> AudioInfo:
        receiver, sender = self._context.Pipe(duplex=False)
        child = self._context.Process(target=_probe_in_child, args=(path, sender, max(1, round(self.timeout_s))),
                                      name="sfa-decode", daemon=True)
        child.start()
        sender.close()
        try:
            if not receiver.poll(self.timeout_s):
                raise NotAudio(f"the file takes longer than {self.timeout_s:g}s to decode")
            kind, value = receiver.recv()
        except EOFError:
            raise NotAudio("the file could not be decoded within the server's limits") from None
        finally:
            child.kill()
            child.join()
            receiver.close()
        if kind == "not audio":
            raise NotAudio(value)
        return AudioInfo(*value)
