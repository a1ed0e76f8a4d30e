"""Every setting, read from ``SFA_*`` and ``DATABASE_URL`` environment variables and validated once.

Each setting is declared once in ``SETTINGS`` with its variable, default, parser and a phrase saying what
it accepts; the README table is checked against this list by the tests. A bad value raises
:class:`ConfigError` naming the variable, which the command line turns into exit code 2.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sfa.dsp.backend import BACKENDS

LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A setting's value is not one it accepts; ``str()`` is the one line shown to the operator."""


def _host(raw: str) -> str:
    if not raw or any(c.isspace() for c in raw):
        raise ValueError
    return raw


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError
        return value

    return parse


def _seconds(raw: str) -> float:
    value = float(raw)
    if not 0 <= value < float("inf"):
        raise ValueError
    return value


def _positive_seconds(raw: str) -> float:
    value = _seconds(raw)
    if value == 0:
        raise ValueError
    return value


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise ValueError
        return value

    return parse


def _float_in(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError
        return value

    return parse


def _http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError
    return raw.rstrip("/")


def _optional_text(raw: str) -> str | None:
    return raw or None


LLM_PROVIDERS = ("anthropic", "openai")
DOWNLOADERS = ("spotdl", "ytdlp", "http")


def _order_of(*choices: str) -> Callable[[str], tuple[str, ...]]:
    """A comma-separated order of some of ``choices``, each at most once."""

    def parse(raw: str) -> tuple[str, ...]:
        names = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
        if not names or len(set(names)) != len(names) or not set(names) <= set(choices):
            raise ValueError
        return names

    return parse


def _search_template(raw: str) -> str:
    if "{query}" not in raw:
        raise ValueError
    return raw


def _model_name(raw: str) -> str:
    if not raw or len(raw) > 200 or any(c.isspace() for c in raw):
        raise ValueError
    return raw


def _optional_http_url(raw: str) -> str | None:
    return _http_url(raw) if raw else None


ACTOR_BASES = ("multiprocQueueBase", "multiprocTCPBase", "multiprocUDPBase")
NETWORKED_ACTOR_BASES = ("multiprocTCPBase", "multiprocUDPBase")


def _actor_base(raw: str) -> str:
    return {base.lower(): base for base in ACTOR_BASES}[raw.lower()]


def _path(raw: str) -> Path:
    if not raw:
        raise ValueError
    return Path(raw).expanduser().resolve()


def _database_url(raw: str) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("postgres", "postgresql") or not (parts.hostname or "host=" in parts.query):
        raise ValueError
    return raw


def _secret_key(raw: str) -> str | None:
    if raw and len(raw) < 32:
        raise ValueError
    return raw or None


def _optional_password(raw: str) -> str | None:
    if raw and not 12 <= len(raw) <= 128:
        raise ValueError
    return raw or None


def _email(raw: str) -> str:
    if raw.count("@") != 1 or any(c.isspace() for c in raw) or raw.startswith("@"):
        raise ValueError
    return raw


def _origins(raw: str) -> frozenset[str]:
    """``*``, or origins ``scheme://host[:port]`` separated by commas, normalised to lower case."""
    if raw.strip() == "*":
        return frozenset({"*"})
    origins = set()
    for item in filter(None, (part.strip() for part in raw.split(","))):
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
            raise ValueError
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    period_s: int


def _rate(raw: str) -> RateLimit:
    limit, _, period = raw.partition("/")
    rate = RateLimit(int(limit), int(period))
    if rate.limit < 1 or rate.period_s < 1:
        raise ValueError
    return rate


@dataclass(frozen=True, slots=True)
class Setting:
    field: str
    env: str
    default: str
    parse: Callable[[str], Any]
    accepts: str
    doc: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "SFA_HOST", "127.0.0.1", _host, "a host name or IP address", "address to listen on"),
    Setting("port", "SFA_PORT", "4000", _int_in(1, 65535), "an integer 1..65535", "port to listen on"),
    Setting("shutdown_s", "SFA_SHUTDOWN_S", "30", _seconds, "a number of seconds >= 0",
            "how long in-flight requests may run after SIGTERM or Ctrl-C"),
    Setting("var_dir", "SFA_VAR_DIR", "./var", _path, "a directory path",
            "runtime state: the embedded PostgreSQL in `pg/`, generated secrets"),
    Setting("data_dir", "SFA_DATA_DIR", "./var/data", _path, "a directory path",
            "audio, stems and exports, named by id; several nodes: one directory all of them share"),
    Setting("log_level", "SFA_LOG_LEVEL", "info", _choice(*LOG_LEVELS), "one of " + ", ".join(LOG_LEVELS),
            "log verbosity"),
    Setting("db_pool_max", "SFA_DB_POOL_MAX", "10", _int_in(1, 1000), "an integer 1..1000",
            "most PostgreSQL connections per server process"),
    Setting("header_timeout_s", "SFA_HEADER_TIMEOUT_S", "10", _positive_seconds, "a number of seconds > 0",
            "a connection whose request line and headers are not all in this long after it opened, or after its "
            "previous response (an idle keep-alive connection), is closed"),
    Setting("body_timeout_s", "SFA_BODY_TIMEOUT_S", "30", _positive_seconds, "a number of seconds > 0",
            "a request body that sends nothing this long while the server waits for it is cut (408); a slow "
            "upload that keeps sending is never cut"),
    Setting("handshake_timeout_s", "SFA_HANDSHAKE_TIMEOUT_S", "10", _positive_seconds, "a number of seconds > 0",
            "how long a socket connection (WebSocket upgrade or long-poll open) may take to authenticate "
            "and start; longer: 503"),
    Setting("max_connections_per_ip", "SFA_MAX_CONNECTIONS_PER_IP", "256", _int_in(1, 1_000_000),
            "an integer 1..1000000", "open connections one client address (an IPv6 /64) may hold; more are "
            "answered 503 and closed (behind a reverse proxy, every client shares the proxy's address)"),
    Setting("health_timeout_s", "SFA_HEALTH_TIMEOUT_S", "2", _seconds, "a number of seconds >= 0",
            "how long `/health` waits for the database"),
    Setting("secret_key", "SFA_SECRET_KEY", "", _secret_key, "at least 32 characters",
            "signs and encrypts cookies, socket and long-poll tokens; unset: generated once into "
            "`SFA_VAR_DIR/secret_key`; several nodes: set the same on each",
            secret=True),
    Setting("admin_email", "SFA_ADMIN_EMAIL", "admin@localhost", _email, "an email address",
            "the super_admin created on first start"),
    Setting("admin_password", "SFA_ADMIN_PASSWORD", "", _optional_password, "12 to 128 characters",
            "that super_admin's password; unset: generated and printed once", secret=True),
    Setting("rate_api", "SFA_RATE_API", "60/60", _rate, "LIMIT/SECONDS, both >= 1",
            "`api_auth`: requests per window on every `/api` route, per user (per IP when anonymous)"),
    Setting("rate_heavy", "SFA_RATE_HEAVY", "10/60", _rate, "LIMIT/SECONDS, both >= 1",
            "`api_heavy`: requests per window on import, analyze, download and separate, per user"),
    Setting("rate_browser", "SFA_RATE_BROWSER", "120/60", _rate, "LIMIT/SECONDS, both >= 1",
            "`browser`: requests per window on browser pages, per IP"),
    Setting("socket_token_ttl_s", "SFA_SOCKET_TOKEN_TTL_S", "3600", _int_in(10, 86400), "an integer 10..86400",
            "lifetime of the signed socket tokens browser pages get"),
    Setting("token_cache_s", "SFA_TOKEN_CACHE_S", "10", _seconds, "a number of seconds >= 0",
            "how long a web process remembers an API token's user; revoking the token or suspending or changing "
            "the user forgets it at once on every node, this bounds a node that missed the news; 0: never"),
    Setting("listing_cache_s", "SFA_LISTING_CACHE_S", "60", _seconds, "a number of seconds >= 0",
            "how long a web process remembers a page of a user's track listing; any change to the user's tracks "
            "forgets it at once on every node, this bounds only an idle entry; 0: never"),
    Setting("allowed_origins", "SFA_ALLOWED_ORIGINS", "", _origins,
            "* or a comma-separated list of origins such as https://app.example.com",
            "origins besides the server's own whose pages may open `/socket` connections; unset: same origin only"),
    Setting("socket_idle_timeout_s", "SFA_SOCKET_IDLE_TIMEOUT_S", "60", _positive_seconds,
            "a number of seconds > 0",
            "a channel socket that sends nothing (not even a heartbeat) this long is closed"),
    Setting("socket_outbox_max", "SFA_SOCKET_OUTBOX_MAX", "1000", _int_in(1, 1_000_000),
            "an integer 1..1000000",
            "frames a socket may have waiting for a slow client before it is disconnected"),
    Setting("longpoll_window_s", "SFA_LONGPOLL_WINDOW_S", "10", _positive_seconds, "a number of seconds > 0",
            "how long a long-poll request waits for messages; a session without a poll for 1.5x this ends"),
    Setting("actor_base", "SFA_ACTOR_BASE", "multiprocQueueBase", _actor_base, "one of " + ", ".join(ACTOR_BASES),
            "Thespian system base for the worker processes (each actor in its own OS process); the TCP and UDP "
            "bases listen on every interface and are an opt-in for trusted networks only (see Supervision)"),
    Setting("actor_admin_port", "SFA_ACTOR_ADMIN_PORT", "0", _int_in(0, 65535), "an integer 0..65535",
            "TCP/UDP port of the Thespian admin; 0 picks a free one at start"),
    Setting("workers_download", "SFA_WORKERS_DOWNLOAD", "3", _int_in(1, 64), "an integer 1..64",
            "JobWorker processes for the `download` queue"),
    Setting("workers_processing", "SFA_WORKERS_PROCESSING", "2", _int_in(1, 64), "an integer 1..64",
            "JobWorker processes for the `processing` queue"),
    Setting("workers_analysis", "SFA_WORKERS_ANALYSIS", "2", _int_in(1, 64), "an integer 1..64",
            "JobWorker processes for the `analysis` queue"),
    Setting("presence_idle_s", "SFA_PRESENCE_IDLE_S", "900", _int_in(1, 604800), "an integer 1..604800 (seconds)",
            "a UserPresence actor (a user's sockets on this node) with no message this long, and no joined "
            "topic, stops"),
    Setting("max_restarts", "SFA_MAX_RESTARTS", "3", _int_in(0, 1000), "an integer 0..1000",
            "restarts a supervisor allows within `SFA_RESTART_PERIOD_S` before it gives up and escalates"),
    Setting("restart_period_s", "SFA_RESTART_PERIOD_S", "5", _seconds, "a number of seconds >= 0",
            "the window `SFA_MAX_RESTARTS` counts restarts in"),
    Setting("max_upload_mb", "SFA_MAX_UPLOAD_MB", "200", _int_in(1, 100_000), "an integer 1..100000",
            "largest audio upload accepted, in MiB (larger: 413)"),
    Setting("upload_decoders", "SFA_UPLOAD_DECODERS", "2", _int_in(1, 64), "an integer 1..64",
            "uploads decoded at once, each in a child process (more wait their turn)"),
    Setting("upload_decode_timeout_s", "SFA_UPLOAD_DECODE_TIMEOUT_S", "60", _positive_seconds,
            "a number of seconds > 0", "wall-clock and CPU limit on decoding one upload; longer: 422"),
    Setting("download_max_mb", "SFA_DOWNLOAD_MAX_MB", "500", _int_in(1, 100_000), "an integer 1..100000",
            "largest file a download job fetches from a URL, in MiB"),
    Setting("download_timeout_s", "SFA_DOWNLOAD_TIMEOUT_S", "30", _positive_seconds, "a number of seconds > 0",
            "a download whose server sends nothing this long fails (and is retried)"),
    Setting("queue_max_attempts", "SFA_QUEUE_MAX_ATTEMPTS", "3", _int_in(1, 100), "an integer 1..100",
            "how many times a job runs before it is failed for good"),
    Setting("queue_backoff_s", "SFA_QUEUE_BACKOFF_S", "2", _positive_seconds, "a number of seconds > 0",
            "delay before a job's first retry; doubles each attempt, with up to 25% jitter"),
    Setting("queue_backoff_max_s", "SFA_QUEUE_BACKOFF_MAX_S", "300", _positive_seconds, "a number of seconds > 0",
            "longest delay between two attempts of a job"),
    Setting("queue_lease_s", "SFA_QUEUE_LEASE_S", "30", _positive_seconds, "a number of seconds > 0",
            "a running job whose node sent no heartbeat this long is rescued (retried elsewhere)"),
    Setting("queue_retention_s", "SFA_QUEUE_RETENTION_S", "604800", _positive_seconds, "a number of seconds > 0",
            "how long a finished (completed, failed, cancelled) job is kept before it is deleted"),
    Setting("queue_poll_s", "SFA_QUEUE_POLL_S", "1", _positive_seconds, "a number of seconds > 0",
            "how often an idle queue looks for due work without a NOTIFY (retries coming due)"),
    Setting("separation_segment_s", "SFA_SEPARATION_SEGMENT_S", "7.8", _float_in(0.5, 600),
            "a number of seconds 0.5..600", "length of the chunks stem separation runs a model on (capped at "
            "what each model accepts: 7.8 s for HTDemucs)"),
    Setting("separation_overlap", "SFA_SEPARATION_OVERLAP", "0.25", _float_in(0, 0.9), "a fraction 0..0.9",
            "share of each chunk overlapping the next, cross-faded when the chunks are joined"),
    Setting("separation_weighting", "SFA_SEPARATION_WEIGHTING", "demucs", _choice("demucs", "guard"),
            "demucs or guard", "how chunks are joined: demucs (its output to 1e-4) or guard (guard bands; "
            "see README)"),
    Setting("separation_batch", "SFA_SEPARATION_BATCH", "4", _int_in(1, 256), "an integer 1..256",
            "most chunks (from any of the jobs it runs) the GPU worker puts through a model at once on a GPU; "
            "on the CPU it takes them one by one, as batches there only grow the working set"),
    Setting("separation_models_mb", "SFA_SEPARATION_MODELS_MB", "4096", _int_in(1, 1_000_000),
            "an integer 1..1000000", "memory the GPU worker keeps loaded models in, in MiB; least recently "
            "used out first"),
    Setting("lalalai_url", "SFA_LALALAI_URL", "https://www.lalal.ai", _http_url, "an http or https URL",
            "base URL of the lalal.ai API (`engine: \"lalalai\"`)"),
    Setting("lalalai_key", "SFA_LALALAI_KEY", "", _optional_text, "a license key", "lalal.ai license key; "
            "unset disables the lalalai engine", secret=True),
    Setting("llm_providers", "SFA_LLM_PROVIDERS", "anthropic,openai", _order_of(*LLM_PROVIDERS),
            "a comma-separated list of anthropic, openai",
            "order the agents try the configured LLM providers in (the next answers when one fails)"),
    Setting("anthropic_api_key", "SFA_ANTHROPIC_API_KEY", "", _optional_text, "an API key",
            "Anthropic API key (secret); unset leaves the anthropic provider unconfigured", secret=True),
    Setting("anthropic_model", "SFA_ANTHROPIC_MODEL", "claude-sonnet-4-5", _model_name, "a model name",
            "model the anthropic provider asks (Messages API)"),
    Setting("anthropic_base_url", "SFA_ANTHROPIC_BASE_URL", "https://api.anthropic.com", _http_url,
            "an http or https URL", "base URL of the Anthropic API"),
    Setting("openai_api_key", "SFA_OPENAI_API_KEY", "", _optional_text, "an API key",
            "OpenAI (or compatible server) API key (secret); the openai provider is configured when this or "
            "`SFA_OPENAI_BASE_URL` is set", secret=True),
    Setting("openai_model", "SFA_OPENAI_MODEL", "gpt-4o-mini", _model_name, "a model name",
            "model the openai provider asks (Chat Completions)"),
    Setting("openai_base_url", "SFA_OPENAI_BASE_URL", "", _optional_http_url, "an http or https URL",
            "base URL of an OpenAI-compatible server (Ollama, vLLM: `http://localhost:11434/v1`); "
            "unset: OpenAI's own API"),
    Setting("llm_timeout_s", "SFA_LLM_TIMEOUT_S", "60", _positive_seconds, "a number of seconds > 0",
            "longest wait for one LLM request, per attempt"),
    Setting("llm_max_retries", "SFA_LLM_MAX_RETRIES", "2", _int_in(0, 10), "an integer 0..10",
            "retries of an LLM request that failed with a 429, a 5xx or a connection error, before the next "
            "provider is tried"),
    Setting("llm_max_tokens", "SFA_LLM_MAX_TOKENS", "1024", _int_in(1, 100_000), "an integer 1..100000",
            "longest reply an LLM may write in one step, in tokens"),
    Setting("llm_context_tokens", "SFA_LLM_CONTEXT_TOKENS", "32000", _int_in(1000, 10_000_000),
            "an integer 1000..10000000",
            "budget of a conversation sent to an LLM, in tokens (estimated); older turns are trimmed first"),
    Setting("llm_health_ttl_s", "SFA_LLM_HEALTH_TTL_S", "30", _seconds, "a number of seconds >= 0",
            "how long `/api/admin/llm/health` reuses a provider's last probe"),
    Setting("spotify_client_id", "SFA_SPOTIFY_CLIENT_ID", "", _optional_text, "a Spotify app's client id",
            "client id of the Spotify app; unset: the Spotify routes answer 503 `SPOTIFY_NOT_CONFIGURED`"),
    Setting("spotify_client_secret", "SFA_SPOTIFY_CLIENT_SECRET", "", _optional_text, "that app's client secret",
            "client secret of the Spotify app", secret=True),
    Setting("spotify_redirect_uri", "SFA_SPOTIFY_REDIRECT_URI", "", _optional_http_url, "an http or https URL",
            "the redirect URI registered with the Spotify app; unset: this server's own "
            "`/auth/spotify/callback` as the browser reached it"),
    Setting("spotify_accounts_url", "SFA_SPOTIFY_ACCOUNTS_URL", "https://accounts.spotify.com", _http_url,
            "an http or https URL", "base URL of Spotify's accounts service (authorize, token)"),
    Setting("spotify_api_url", "SFA_SPOTIFY_API_URL", "https://api.spotify.com/v1", _http_url,
            "an http or https URL", "base URL of the Spotify Web API"),
    Setting("resolver_search", "SFA_RESOLVER_SEARCH", "ytsearch5:{query}", _search_template,
            "a yt-dlp search or URL with `{query}`", "where a Spotify track without spotdl is looked for: "
            "a yt-dlp search (`ytsearch5:{query}`) or the URL of a page or feed listing results"),
    Setting("downloader", "SFA_DOWNLOADER", "spotdl,ytdlp,http", _order_of(*DOWNLOADERS),
            "a comma-separated order of " + ", ".join(DOWNLOADERS),
            "download backends in the order they are tried; a backend not installed is skipped"),
    Setting("dsp_backend", "SFA_DSP_BACKEND", "numpy", _choice(*BACKENDS), ", ".join(BACKENDS),
            "array backend of the analysis workers; auto takes CuPy when a GPU is usable (`[gpu]` extra)"),
    Setting("database_url", "DATABASE_URL", "", _database_url, "a postgresql://user@host/dbname URL",
            "external PostgreSQL; unset starts the embedded one under `SFA_VAR_DIR/pg`"),
)


@dataclass(frozen=True, slots=True)
class Config:
    host: str
    port: int
    shutdown_s: float
    var_dir: Path
    data_dir: Path
    log_level: str
    db_pool_max: int
    header_timeout_s: float
    body_timeout_s: float
    handshake_timeout_s: float
    max_connections_per_ip: int
    health_timeout_s: float
    secret_key: str | None
    admin_email: str
    admin_password: str | None
    rate_api: RateLimit
    rate_heavy: RateLimit
    rate_browser: RateLimit
    socket_token_ttl_s: int
    token_cache_s: float
    listing_cache_s: float
    allowed_origins: frozenset[str]
    socket_idle_timeout_s: float
    socket_outbox_max: int
    longpoll_window_s: float
    actor_base: str
    actor_admin_port: int
    workers_download: int
    workers_processing: int
    workers_analysis: int
    presence_idle_s: int
    max_restarts: int
    restart_period_s: float
    max_upload_mb: int
    upload_decoders: int
    upload_decode_timeout_s: float
    download_max_mb: int
    download_timeout_s: float
    queue_max_attempts: int
    queue_backoff_s: float
    queue_backoff_max_s: float
    queue_lease_s: float
    queue_retention_s: float
    queue_poll_s: float
    separation_segment_s: float
    separation_overlap: float
    separation_weighting: str
    separation_batch: int
    separation_models_mb: int
    lalalai_url: str
    lalalai_key: str | None
    llm_providers: tuple[str, ...]
    anthropic_api_key: str | None
    anthropic_model: str
    anthropic_base_url: str
    openai_api_key: str | None
    openai_model: str
    openai_base_url: str | None
    llm_timeout_s: float
    llm_max_retries: int
    llm_max_tokens: int
    llm_context_tokens: int
    llm_health_ttl_s: float
    spotify_client_id: str | None
    spotify_client_secret: str | None
    spotify_redirect_uri: str | None
    spotify_accounts_url: str
    spotify_api_url: str
    resolver_search: str
    downloader: tuple[str, ...]
    dsp_backend: str
    database_url: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Parse every setting from ``environ`` (default ``os.environ``); raise ConfigError on the first bad one."""
        environ = os.environ if environ is None else environ
        values = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env, setting.default).strip()
            try:
                values[setting.field] = setting.parse(raw)
            except ValueError:
                shown = "<hidden>" if setting.secret else repr(raw)
                raise ConfigError(f"{setting.env}={shown} is invalid: expected {setting.accepts}") from None
        return cls(**values)

    @property
    def pg_dir(self) -> Path:
        return self.var_dir / "pg"

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


BOOTSTRAP_VARIABLES = {"SFA_VENV_CACHE": "where `run.py` keeps environments shared by clones (~/.cache/sfa/venvs)"}


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``SFA_*`` variables that name no setting: most likely typos, worth a warning."""
    known = {setting.env for setting in SETTINGS} | set(BOOTSTRAP_VARIABLES)
    return sorted(name for name in environ if name.startswith("SFA_") and name not in known)
