"""The API's shapes, each defined once: error envelopes, page meta, and the resources (Track, Stem, Job,
Analysis, User) the handlers answer with. Enumerations come from the modules that own them."""

from __future__ import annotations

from sfa.accounts.roles import ALIASES, ROLES, STATUSES
from sfa.dsp import FEATURE_GROUPS
from sfa.ids import DECIMAL_ID, MAX_ID
from sfa.job_kinds import JOB_KINDS
from sfa.jobs.states import CLIENT_STATUSES, STATES
from sfa.separation import MODELS
from sfa.separation.job import ENGINES
from sfa.tracks.metadata import BPM_RANGE, KEYS, MAX_TAG, MAX_TAGS, MAX_TITLE
from sfa.web.envelope import MAX_PAGE, MAX_PAGE_SIZE
from sfa.web.openapi.schema import (
    ANY,
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    TIMESTAMP,
    array,
    component,
    enum,
    integer,
    nullable,
    obj,
    string,
)

ID = integer(1, MAX_ID)
# An id a client writes in a JSON body: the number, or its decimal string (sfa.ids).
BODY_ID = {"oneOf": [ID, {"type": "string", "pattern": f"^{DECIMAL_ID.pattern}$"}]}
COUNT = integer(0)
PROGRESS = integer(0, 100)
JOB_STATUS = enum(CLIENT_STATUSES)

ERROR_FIELDS = {"error": STRING, "code": string(pattern="^[A-Z][A-Z0-9_]*$")}
ERROR = component("Error", obj(ERROR_FIELDS))
# Usually "validation failed" / VALIDATION_ERROR; a route may name its own code (the contract's INVALID_URL).
VALIDATION_ERROR = component("ValidationError", obj(ERROR_FIELDS | {
    "details": {"type": "object", "minProperties": 1, "additionalProperties": array(STRING, minItems=1)},
}))
RATE_LIMITED = component("RateLimited", obj(ERROR_FIELDS | {"retry_after": integer(1)}))
PAGE_META = component("PageMeta", obj({"page": integer(1, MAX_PAGE), "page_size": integer(1, MAX_PAGE_SIZE),
                                       "total_count": COUNT, "total_pages": COUNT}))

USER = component("User", obj({"id": ID, "email": STRING, "role": enum(ROLES), "status": enum(STATUSES),
                              "inserted_at": TIMESTAMP}))

TRACK_FIELDS = {
    "id": ID, "title": STRING, "artist": nullable(STRING), "source": STRING, "source_url": nullable(STRING),
    "format": nullable(STRING), "file_size": nullable(COUNT), "duration": nullable(NUMBER),
    "sample_rate": nullable(INTEGER), "channels": nullable(INTEGER), "bpm": nullable(NUMBER),
    "key": nullable(STRING), "tags": array(STRING), "file_url": nullable(STRING),
    "inserted_at": TIMESTAMP, "updated_at": TIMESTAMP,
}
TRACK = component("Track", obj(TRACK_FIELDS))
STEM = component("Stem", obj({"id": ID, "track_id": ID, "name": STRING, "model": nullable(STRING),
                              "file_size": nullable(COUNT), "file_url": STRING, "export_url": STRING}))

CHORD = component("Chord", obj({"time": NUMBER, "chord": STRING, "confidence": NUMBER}))
ANALYSIS_RESULT = component("AnalysisResult", obj({}, {
    "tempo": nullable(NUMBER), "tempo_reason": nullable(STRING), "beats": array(NUMBER), "key": nullable(STRING),
    "chords": array(CHORD), "energy": nullable(NUMBER),
    "spectral_centroid": nullable(NUMBER), "spectral_rolloff": nullable(NUMBER),
    "zero_crossing_rate": nullable(NUMBER), "features": {"type": "object"},
}, closed=False))
ANALYSIS_SUMMARY = component("AnalysisSummary", obj({
    "tempo": nullable(NUMBER), "key": nullable(STRING), "energy": nullable(NUMBER),
    "spectral_centroid": nullable(NUMBER), "spectral_rolloff": nullable(NUMBER),
    "zero_crossing_rate": nullable(NUMBER), "job_id": nullable(ID), "analyzed_at": TIMESTAMP,
}))
ANALYSIS_FIELDS = {"track_id": ID, "job_id": nullable(ID), "inserted_at": TIMESTAMP, "result": ANALYSIS_RESULT}
ANALYSIS = component("Analysis", obj(ANALYSIS_FIELDS))
TRACK_DETAIL = component("TrackDetail", obj(TRACK_FIELDS | {"stems": array(STEM),
                                                             "analysis": nullable(ANALYSIS_SUMMARY)}))

JOB = component("Job", obj({
    "id": ID, "kind": enum(JOB_KINDS), "job_type": enum(JOB_KINDS), "queue": STRING, "status": JOB_STATUS,
    "progress": PROGRESS, "message": STRING, "track_id": nullable(ID), "args": {"type": "object"},
    "attempts": COUNT, "max_attempts": integer(1), "error": nullable(STRING), "errors": array({"type": "object"}),
    "result": ANY, "scheduled_at": TIMESTAMP, "inserted_at": TIMESTAMP, "started_at": nullable(TIMESTAMP),
    "finished_at": nullable(TIMESTAMP), "updated_at": TIMESTAMP,
}))
JOB_STARTED_FIELDS = {"job_id": ID, "track_id": ID, "status": JOB_STATUS}
JOB_STARTED = component("JobStarted", obj(JOB_STARTED_FIELDS))
JOB_STATE_FIELDS = {"id": ID, "status": JOB_STATUS, "progress": PROGRESS, "track_id": nullable(ID),
                    "error": nullable(STRING)}

# Request bodies.
TRACK_ID = {**BODY_ID, "description": "the id of one of the caller's tracks"}
TRACK_CHANGES = component("TrackChanges", obj({}, {
    # Not only whitespace, as str.strip() sees it (ECMA's \s lacks U+001C..U+001F, so they are named).
    "title": string(1, MAX_TITLE, pattern=r"[^\s\x1c-\x1f]"),
    "bpm": nullable({"type": "number", "minimum": BPM_RANGE[0], "maximum": BPM_RANGE[1]}),
    "key": nullable(enum(KEYS)),
    "tags": array(string(1, MAX_TAG), maxItems=MAX_TAGS),
}, minProperties=1))
FEATURES = {"anyOf": [enum([*FEATURE_GROUPS, "all"]), array(enum([*FEATURE_GROUPS, "all"]), minItems=1)]}
ANALYZE_REQUEST = component("AnalyzeRequest", obj({"track_id": TRACK_ID}, {"features": FEATURES}, closed=False))
SEPARATE_REQUEST = component("SeparateRequest", obj({"track_id": TRACK_ID},
                                                    {"model": enum(MODELS), "engine": enum(ENGINES)}, closed=False))
USER_CHANGES = component("UserChanges", obj({}, {"role": enum([*ROLES, *ALIASES]), "status": enum(STATUSES)},
                                            minProperties=1))
MODEL = component("SeparationModel", obj({
    "name": STRING, "description": STRING, "stems": array(STRING), "family": STRING, "sample_rate": INTEGER,
    "default": BOOLEAN, "weights_present": BOOLEAN, "files": array(STRING)}))

QUEUE_STATS = obj({"counts": obj({state: COUNT for state in STATES}), "oldest_waiting_s": nullable(NUMBER),
                   "completed_last_minute": COUNT})
QUEUE_OVERVIEW = component("QueueOverview", obj({
    "queues": {"type": "object", "additionalProperties": QUEUE_STATS},
    "totals": obj({state: COUNT for state in STATES}), "completed_last_minute": COUNT}))
SUPERVISION_TREE = component("SupervisionTree", obj({
    "actor_base": STRING, "admin_port": nullable(INTEGER), "actor_sid": nullable(INTEGER),
    "actor_processes": COUNT, "tree": {"type": "object", "description": "the root supervisor, children nested"}}))
