"""A local server speaking lalal.ai's v1 wire format (the published OpenAPI 1.1 description): POST
endpoints under /api/v1/ authenticated by X-License-Key, JSON bodies, {"detail", "code"} errors, and
signed result URLs. A task reports progress on its first check and succeeds on the next; each stem track
is the upload itself at a fraction of its level, the back track the rest."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soundfile
from aiohttp import web

KEY = "test-license-key"


@dataclass
class FakeLalalai:
    sources: dict[str, bytes] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    minutes_left: float = 123.5
    base_url: str = ""
    # Path -> statuses its next calls answer (in turn) before answering normally again.
    failures: dict[str, list[int]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.licensed])
        app.router.add_post("/api/v1/upload/", self.upload)
        app.router.add_post("/api/v1/split/multistem/", self.split)
        app.router.add_post("/api/v1/check/", self.check)
        app.router.add_post("/api/v1/cancel/", self.cancel)
        app.router.add_post("/api/v1/cancel/all/", self.cancel_all)
        app.router.add_post("/api/v1/limits/minutes_left/", self.limits)
        app.router.add_get("/d/{task}/{label}", self.result)
        return app

    @web.middleware
    async def licensed(self, request: web.Request, handler):
        self.calls.append((request.path, dict(request.headers)))
        if request.path.startswith("/api/") and request.headers.get("X-License-Key") != KEY:
            return web.json_response({"detail": "Invalid license key", "code": "invalid_license"}, status=401)
        if self.failures.get(request.path):
            return web.json_response({"detail": "Service temporarily unavailable"},
                                     status=self.failures[request.path].pop(0))
        return await handler(request)

    async def upload(self, request: web.Request) -> web.Response:
        if "filename" not in request.headers.get("Content-Disposition", ""):
            return web.json_response({"detail": "Content-Disposition header is required"}, status=400)
        source_id = str(uuid.uuid4())
        self.sources[source_id] = await request.read()
        info = soundfile.info(io.BytesIO(self.sources[source_id]))
        return web.json_response({"id": source_id, "name": "song.wav", "size": len(self.sources[source_id]),
                                  "duration": int(info.duration), "expires": 1_900_000_000})

    async def split(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("source_id") not in self.sources:
            return web.json_response({"detail": "The file has not been uploaded", "code": "source_not_found"},
                                     status=400)
        task_id = str(uuid.uuid4())
        self.tasks[task_id] = {"source_id": body["source_id"], "stems": body["presets"]["stem_list"],
                               "checks": 0, "status": "progress"}
        return web.json_response({"task_id": task_id})

    async def check(self, request: web.Request) -> web.Response:
        result = {}
        for task_id in (await request.json())["task_ids"]:
            task = self.tasks.get(task_id)
            if task is None:
                result[task_id] = {"status": "server_error", "error": "Failed to extract information about task"}
                continue
            task["checks"] += 1
            if task["status"] == "progress" and task["checks"] > 1:
                task["status"] = "success"
            result[task_id] = self._state(task_id, task)
        return web.json_response({"result": result})

    def _state(self, task_id: str, task: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"status": task["status"], "source_id": task["source_id"],
                                 "presets": {"task_type": "split", "label": "multistem", "stem_list": task["stems"]}}
        if task["status"] == "progress":
            state["progress"] = 40
        if task["status"] == "success":
            tracks = [{"type": "stem", "label": stem, "url": f"{self.base_url}/d/{task_id}/{stem}"}
                      for stem in task["stems"]]
            tracks.append({"type": "back", "label": "no_multistem", "url": f"{self.base_url}/d/{task_id}/back"})
            state["result"] = {"tracks": tracks, "duration": 3}
        return state

    async def cancel(self, request: web.Request) -> web.Response:
        result = {}
        for task_id in (await request.json())["task_ids"]:
            task = self.tasks.get(task_id)
            if task is None or task["status"] != "progress":
                result[task_id] = {"status": "server_error", "error": "Task is not in progress state"}
            else:
                task["status"] = "cancelled"
                result[task_id] = {"status": "success"}
        return web.json_response({"result": result})

    async def cancel_all(self, request: web.Request) -> web.Response:
        running = [task_id for task_id, task in self.tasks.items() if task["status"] == "progress"]
        for task_id in running:
            self.tasks[task_id]["status"] = "cancelled"
        return web.json_response({"result": {task_id: {"status": "success"} for task_id in running}})

    async def limits(self, request: web.Request) -> web.Response:
        return web.json_response({"minutes_left": self.minutes_left})

    async def result(self, request: web.Request) -> web.Response:
        task = self.tasks[request.match_info["task"]]
        audio, rate = soundfile.read(io.BytesIO(self.sources[task["source_id"]]), dtype="float32")
        share = 1 / (len(task["stems"]) + 1)
        buffer = io.BytesIO()
        soundfile.write(buffer, np.asarray(audio * share), rate, format="WAV")
        disposition = f'attachment; filename="{request.match_info["label"]}.wav"'
        return web.Response(body=buffer.getvalue(), content_type="audio/wav",
                            headers={"Content-Disposition": disposition})

