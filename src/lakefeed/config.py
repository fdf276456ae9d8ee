"""Daemon config files: YAML, validated in full before anything is touched.

Every daemon reads one file whose `kind` says which daemon it is for. A bad file yields
one line naming the key, what is wrong and how to fix it (ConfigError, exit 2).
Secrets are never written in a config file: they are named by environment variable or
by a file path (`SecretRef`), and read at start.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from lakefeed.errors import ConfigError

# Kafka's own rule for topic names; '+' is excluded, which the spool file names rely on.
TOPIC_RE = r"^[A-Za-z0-9._-]{1,249}$"
NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# Keys that look like a secret written in clear; each gets a message pointing at SecretRef.
_CLEAR_SECRET_KEYS = {
    "bearer_token",
    "password",
    "sasl_password",
    "api_key",
    "token",
    "secret_key",
    "secret_access_key",
    "access_key_id",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_secret_in_clear(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key in _CLEAR_SECRET_KEYS and key not in cls.model_fields:
                    raise ValueError(
                        f"'{key}' must not hold a secret in clear: use '{key}_env: VAR' "
                        f"or '{key}_file: /path' (a SecretRef)"
                    )
        return data


class SecretRef(Strict):
    """Where to read a secret from: an environment variable or a file (first line)."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' (a variable name) or 'file' (a path)")
        return self

    def describe(self) -> str:
        return f"env {self.env}" if self.env else f"file {self.file}"

    def read(self, key: str) -> str:
        """Return the secret; `key` names the config key in the error if it is missing."""
        if self.env:
            value = os.environ.get(self.env, "")
            if not value:
                raise ConfigError(
                    f"{key}: environment variable {self.env} is not set or empty; "
                    "export it or point the key at a file"
                )
            return value
        assert self.file is not None
        try:
            value = self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{key}: cannot read secret file {self.file}: {exc.strerror}; "
                "check the path and that this service's user may read it"
            ) from exc
        if not value:
            raise ConfigError(f"{key}: secret file {self.file} is empty")
        return value


class KafkaConfig(Strict):
    bootstrap_servers: list[Annotated[str, Field(pattern=r"^[^\s:]+:\d{1,5}$")]] = Field(
        min_length=1
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretRef | None = None
    ssl_cafile: Path | None = None
    client_id: str | None = None
    request_timeout_ms: int = Field(default=30000, ge=1000)

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaConfig:
        if self.security_protocol.startswith("SASL_"):
            missing = [
                k
                for k in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(
                    f"security_protocol {self.security_protocol} needs {', '.join(missing)}"
                )
        return self

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by kafka-python's producer, consumer and admin client."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.client_id:
            kwargs["client_id"] = self.client_id
        if self.ssl_cafile:
            kwargs["ssl_cafile"] = str(self.ssl_cafile)
        if self.security_protocol.startswith("SASL_"):
            assert self.sasl_password is not None
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.read("kafka.sasl_password")
        return kwargs


class HttpEndpoint(Strict):
    """Where /metrics and /healthz listen. Port 0 picks a free port (logged at start)."""

    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


def _endpoint(port: int) -> Any:
    return Field(default_factory=lambda: HttpEndpoint(port=port))


# --- collector -----------------------------------------------------------------------


class ReplaySource(Strict):
    type: Literal["replay"]
    path: Path
    rate: float = Field(default=100.0, ge=0, description="records/s; 0 = as fast as possible")
    loop: bool = False
    id_path: str = "data.id"
    resume: bool = True
    # idle: stay up (healthy) after the last line, as a service should; exit: return 0,
    # for one-shot loads and tests.
    at_end: Literal["idle", "exit"] = "idle"


class HttpAuth(Strict):
    location: Literal["header", "query"] = "header"
    name: str = "Authorization"
    prefix: str = ""
    secret: SecretRef


class HttpPollSource(Strict):
    type: Literal["http_poll"]
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    json_body: dict[str, Any] | None = None
    auth: HttpAuth | None = None
    interval_seconds: float = Field(default=60.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    records_path: str = ""
    id_path: str = "id"
    skip_seen_ids: bool = False
    seen_ids_max: int = Field(default=100_000, ge=1)

    @field_validator("headers")
    @classmethod
    def _no_auth_header_in_clear(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() in {"authorization", "x-api-key", "api-key"}:
                raise ValueError(
                    f"header '{name}' would put a credential in the config in clear; "
                    "use 'auth: {name: ..., secret: {env: VAR}}' instead"
                )
        return value


class XRule(Strict):
    value: str = Field(min_length=1, max_length=1024)
    tag: str | None = None


class XStreamSource(Strict):
    type: Literal["x_stream"]
    bearer_token: SecretRef
    rules: list[XRule] = Field(min_length=1)
    expansions: list[str] = Field(default_factory=list)
    tweet_fields: list[str] = Field(default_factory=lambda: ["created_at", "lang", "author_id"])
    user_fields: list[str] = Field(default_factory=list)
    media_fields: list[str] = Field(default_factory=list)
    # Only for a gateway or a test double; production talks to tweepy's own host.
    api_base: Annotated[str, Field(pattern=r"^https?://[^/\s]+$")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _token_in_clear(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("bearer_token"), str):
            raise ValueError(  # noqa: TRY004 - pydantic reports ValueError as a config error
                "'bearer_token' must not hold the token in clear: use "
                "'bearer_token: {env: X_BEARER_TOKEN}' or '{file: /etc/lakefeed/x-token}'"
            )
        return data


Source = Annotated[ReplaySource | HttpPollSource | XStreamSource, Field(discriminator="type")]


class ProducerTuning(Strict):
    linger_ms: int = Field(default=20, ge=0)
    batch_size: int = Field(default=262_144, ge=1024)
    compression_type: Literal["none", "gzip"] = "none"
    max_in_flight: int = Field(default=5, ge=1, le=5)


class CollectorConfig(Strict):
    kind: Literal["collector"]
    name: Annotated[str, Field(pattern=NAME_RE)]
    kafka: KafkaConfig
    topic: Annotated[str, Field(pattern=TOPIC_RE)]
    dead_letter_topic: Annotated[str, Field(pattern=TOPIC_RE)] = "lakefeed.dead-letter"
    # Kafka's default message.max.bytes is 1 MiB; stay under it with the envelope.
    max_record_bytes: int = Field(default=900_000, ge=1024)
    source: Source
    producer: ProducerTuning = Field(default_factory=ProducerTuning)
    state_dir: Path = Path("/var/lib/lakefeed/collector")
    metrics: HttpEndpoint = _endpoint(9101)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


# --- archiver ------------------------------------------------------------------------


class Rotation(Strict):
    max_records: int = Field(default=100_000, ge=1)
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, description="uncompressed")
    max_age_seconds: float = Field(default=300.0, gt=0)


class ArchiverConfig(Strict):
    kind: Literal["archiver"]
    kafka: KafkaConfig
    topics: list[Annotated[str, Field(pattern=TOPIC_RE)]] = Field(min_length=1)
    group_id: str = Field(default="lakefeed-archiver", min_length=1)
    # Static group membership (KIP-345): an archiver restarted within the session timeout
    # gets its partitions back at once instead of stalling the group in a rebalance.
    # Unset = this host's name; each archiver in a group needs its own.
    group_instance_id: str | None = Field(default=None, min_length=1)
    session_timeout_ms: int = Field(default=45_000, ge=6_000)
    spool_dir: Path
    rotate: Rotation = Field(default_factory=Rotation)
    compression_level: int = Field(default=6, ge=1, le=9)
    max_poll_records: int = Field(default=2000, ge=1)
    # Refuse to start a new file below this much free space in the spool: a full disk
    # pauses consumption instead of producing torn files.
    min_free_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    metrics: HttpEndpoint = _endpoint(9102)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


# --- shipper -------------------------------------------------------------------------


class S3Config(Strict):
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9!_.*'()/-]*$")] = ""
    endpoint_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    region: str | None = None
    # Only for S3-compatible endpoints; on AWS the instance profile supplies credentials.
    access_key: SecretRef | None = None
    secret_key: SecretRef | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    multipart_threshold_bytes: int = Field(default=64 * 1024 * 1024, ge=5 * 1024 * 1024)
    multipart_chunk_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)

    @field_validator("prefix")
    @classmethod
    def _strip_slashes(cls, value: str) -> str:
        return value.strip("/")

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> S3Config:
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("give both access_key and secret_key, or neither")
        return self


class Retry(Strict):
    initial_seconds: float = Field(default=1.0, gt=0)
    max_seconds: float = Field(default=60.0, gt=0)


class ShipperConfig(Strict):
    kind: Literal["shipper"]
    spool_dir: Path
    s3: S3Config
    concurrency: int = Field(default=4, ge=1, le=64)
    after_upload: Literal["delete", "keep"] = "delete"
    shipped_retention_hours: float = Field(default=24.0, ge=0)
    retry: Retry = Field(default_factory=Retry)
    metrics: HttpEndpoint = _endpoint(9103)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


KINDS: dict[str, type[Strict]] = {
    "collector": CollectorConfig,
    "archiver": ArchiverConfig,
    "shipper": ShipperConfig,
}


def _where(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in {"replay", "http_poll", "x_stream"} and parts and parts[-1] == "source":
            continue  # the discriminator's branch name is noise for the reader
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _explain(err: dict[str, Any]) -> str:
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling (docs/config.md lists every key)"
    if kind == "missing":
        return "required key is missing; add it (docs/config.md says what it takes)"
    got = err.get("input")
    if got is not None and not isinstance(got, dict | list) and kind != "value_error":
        return f"{msg} (got {got!r})"
    return msg


def parse(data: Any, source: str = "<config>") -> Strict:
    """Validate an already-loaded mapping; raises ConfigError with one line."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys to values")
    kind = data.get("kind")
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ConfigError(
            f"{source}: kind: must be one of {', '.join(sorted(KINDS))} (got {kind!r})"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        tail = f" (+{more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{source}: {_where(first['loc'])}: {_explain(first)}{tail}") from exc


def load(path: str | Path, kind: str | None = None) -> Strict:
    """Read and validate a config file; `kind`, if given, must match the file's."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from exc
    config = parse(data, str(path))
    if kind is not None and config.kind != kind:  # type: ignore[attr-defined]
        raise ConfigError(
            f"{path}: kind: this command needs a {kind} config (got {config.kind!r})"  # type: ignore[attr-defined]
        )
    return config


def check_secrets(config: Strict) -> None:
    """Resolve every SecretRef now, so a missing secret fails at start, not mid-stream."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, SecretRef):
            node.read(where)
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name), f"{where}.{name}" if where else name)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    walk(config, "")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "x"
