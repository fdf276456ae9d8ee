"""Daemon config files: YAML, validated in full before anything is touched.

Every daemon reads one file whose `kind` says which daemon it is for. A bad file yields
one line naming the key, what is wrong and how to fix it (ConfigError, exit 2).
Secrets are never written in a config file: they are named by environment variable or
by a file path (`SecretRef`), and read at start.
"""

from __future__ import annotations

import os
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
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

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

    @model_validator(mode="before")
    @classmethod
    def _not_a_plain_string(cls, data: Any) -> Any:
        if isinstance(data, str | int | float):
            # ValueError (not a type error) so the message never echoes the value.
            raise ValueError(  # noqa: TRY004
                "must not hold a secret in clear: use '{env: VARIABLE}' or '{file: /path}'"
            )
        return data

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
    """How to reach the Kafka cluster."""

    bootstrap_servers: list[Annotated[str, Field(pattern=r"^[^\s:]+:\d{1,5}$")]] = Field(
        min_length=1
    )
    """`host:port` of some brokers (two or more, so a restart of one is no outage)."""
    security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """`SASL_SSL` (TLS, and a SCRAM login) for a cluster the kafka role runs with
    `kafka_security: sasl_ssl`, or anything beyond a private network; `PLAINTEXT` sends
    records unencrypted and unauthenticated (docs/security.md)."""
    sasl_mechanism: Literal["SCRAM-SHA-512"] = "SCRAM-SHA-512"
    """With `SASL_SSL`: the login mechanism."""
    sasl_username: Annotated[str, Field(min_length=1)] | None = None
    """With `SASL_SSL`: the SCRAM user."""
    sasl_password: SecretRef | None = None
    """With `SASL_SSL`: `{env: VAR}` or `{file: /path}` holding the user's password."""
    ssl_cafile: Path | None = None
    """With `SASL_SSL`: the CA that signed the brokers' certificates (PEM); unset = the
    system's trusted CAs. Broker host names are always checked against the certificates."""
    client_id: str | None = None
    """Shown in broker logs and quotas; defaults to kafka-python's."""
    request_timeout_ms: int = Field(default=30000, ge=1000)
    """Per-request timeout towards the brokers, and how long the first connection at
    start may take before the daemon gives up (exit 1, systemd starts it again)."""

    @model_validator(mode="after")
    def _security_complete(self) -> KafkaConfig:
        given = [
            k
            for k in ("sasl_username", "sasl_password", "ssl_cafile")
            if getattr(self, k) is not None
        ]
        if self.security_protocol == "PLAINTEXT" and given:
            # Credentials next to PLAINTEXT mean security was meant but not switched on:
            # refuse rather than send records in clear.
            raise ValueError(
                f"{', '.join(given)} given but security_protocol is PLAINTEXT; set "
                "security_protocol: SASL_SSL (or remove them)"
            )
        if self.security_protocol == "SASL_SSL":
            missing = [k for k in ("sasl_username", "sasl_password") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"security_protocol SASL_SSL needs {', '.join(missing)}")
        return self

    def check_files(self) -> None:
        """Fail at start, with the key's name, if the CA file cannot be read."""
        if self.ssl_cafile is None:
            return
        try:
            text = self.ssl_cafile.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not a PEM text file"
            raise ConfigError(
                f"kafka.ssl_cafile: cannot read {self.ssl_cafile}: {why}; check the path "
                "and that this service's user may read it"
            ) from exc
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ConfigError(
                f"kafka.ssl_cafile: {self.ssl_cafile} holds no PEM certificate "
                "(-----BEGIN CERTIFICATE-----)"
            )

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by kafka-python's producer, consumer and admin client."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
            "bootstrap_timeout_ms": self.request_timeout_ms,
        }
        if self.client_id:
            kwargs["client_id"] = self.client_id
        if self.security_protocol == "SASL_SSL":
            assert self.sasl_password is not None
            if self.ssl_cafile:
                kwargs["ssl_cafile"] = str(self.ssl_cafile)
            kwargs["ssl_check_hostname"] = True
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.read("kafka.sasl_password")
        return kwargs


class HttpEndpoint(Strict):
    """Where /metrics (Prometheus) and /healthz (JSON; 200 or 503) listen."""

    host: str = "127.0.0.1"
    """Address to bind; keep it on loopback unless a scraper on another host needs it."""
    port: int = Field(ge=0, le=65535)
    """TCP port; 0 picks a free one and logs it (tests)."""


def _endpoint(port: int) -> Any:
    return Field(default_factory=lambda: HttpEndpoint(port=port))


# --- collector -----------------------------------------------------------------------


class ReplaySourceConfig(Strict):
    """Replays a JSONL file: the demo source, and a way to backfill an export."""

    type: Literal["replay"]
    path: Path
    """The JSONL file, one source record per line."""
    rate: float = Field(default=100.0, ge=0)
    """Records per second; 0 sends as fast as Kafka acknowledges."""
    loop: bool = False
    """Start again at the top after the last line (ids then repeat)."""
    id_path: str = "data.id"
    """Dotted path to each record's id (the Kafka key); `data.id` fits X API v2 lines."""
    resume: bool = True
    """Remember the position of the last acknowledged line in `state_dir` and go on from
    there after a restart."""
    at_end: Literal["idle", "exit"] = "idle"
    """After the last line: `idle` keeps the service up and healthy (its
    `lakefeed_collector_source_exhausted` metric is then 1); `exit` returns 0 (one-shot
    loads)."""


class HttpAuth(Strict):
    """How the API key is sent; the key itself comes from `secret`, never the config."""

    location: Literal["header", "query"] = "header"
    """Send the key as an HTTP header or as a query parameter."""
    name: str = "Authorization"
    """Header or parameter name, e.g. `X-Api-Key` or `apikey`."""
    prefix: str = ""
    """Put before the key, e.g. `"Bearer "`."""
    secret: SecretRef
    """Where the key is read from: `{env: VAR}` or `{file: /path}`."""


class HttpPollSourceConfig(Strict):
    """Polls any JSON API on an interval; each element of a list in the answer is a record."""

    type: Literal["http_poll"]
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    """The endpoint, `http://` or `https://`."""
    method: Literal["GET", "POST"] = "GET"
    """HTTP method."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers (not credentials: those go in `auth`)."""
    params: dict[str, str] = Field(default_factory=dict)
    """Query parameters."""
    json_body: dict[str, Any] | None = None
    """JSON body for POST APIs."""
    auth: HttpAuth | None = None
    """The API key, if the API needs one."""
    interval_seconds: float = Field(default=60.0, gt=0)
    """Time between the starts of two polls; mind the API's rate limit."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    """Give up on one request after this long (then back off and retry)."""
    records_path: str = ""
    """Dotted path to the list of records in the answer; empty if the answer is the list."""
    id_path: str = "id"
    """Dotted path, inside each record, to its id."""
    skip_seen_ids: bool = False
    """Produce an id only the first time it is seen (for APIs that return overlapping
    pages); off for APIs where each poll is a new observation, like prices."""
    seen_ids_max: int = Field(default=100_000, ge=1)
    """How many recent ids `skip_seen_ids` remembers (in memory)."""

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
    """One filtered-stream rule."""

    value: str = Field(min_length=1, max_length=1024)
    """The rule in X's query syntax, e.g. `#NBA has:media -is:retweet`."""
    tag: str | None = None
    """A label X echoes in each match's `matching_rules`."""


class XStreamSourceConfig(Strict):
    """X API v2 filtered stream (tweepy). Rules are synced at start: missing ones added,
    others removed, unchanged ones left alone."""

    type: Literal["x_stream"]
    bearer_token: SecretRef
    """The app's Bearer token: `{env: X_BEARER_TOKEN}` or `{file: /etc/lakefeed/x-token}`."""
    rules: list[XRule] = Field(min_length=1)
    """The rules this stream should have, and only these."""
    expansions: list[str] = Field(default_factory=list)
    """e.g. `[author_id, attachments.media_keys]`; fills `includes` in each record."""
    tweet_fields: list[str] = Field(default_factory=lambda: ["created_at", "lang", "author_id"])
    """Post fields to request."""
    user_fields: list[str] = Field(default_factory=list)
    """User fields to request (with the `author_id` expansion)."""
    media_fields: list[str] = Field(default_factory=list)
    """Media fields to request (with the `attachments.media_keys` expansion)."""
    api_base: Annotated[str, Field(pattern=r"^https?://[^/\s]+$")] | None = None
    """Send API calls to this base instead of X's host: a gateway, or a test double."""


SourceConfig = Annotated[
    ReplaySourceConfig | HttpPollSourceConfig | XStreamSourceConfig, Field(discriminator="type")
]


class ProducerTuning(Strict):
    """Producer batching; acks=all and idempotence are fixed, not tunable."""

    linger_ms: int = Field(default=20, ge=0)
    """How long a batch may wait to fill; more = bigger batches, more latency."""
    batch_size: int = Field(default=262_144, ge=1024)
    """Bytes per partition batch."""
    compression_type: Literal["none", "gzip"] = "none"
    """Compress batches on the wire and on the brokers' disks (costs collector CPU)."""
    max_in_flight: int = Field(default=5, ge=1, le=5)
    """Unacknowledged requests per broker; at most 5 keeps idempotent ordering."""


class CollectorConfig(Strict):
    """`lakefeed collect`: one source, produced to one topic."""

    kind: Literal["collector"]
    name: Annotated[str, Field(pattern=NAME_RE)]
    """This collector's name (`[a-z0-9_-]`); the record's `source` is `<type>:<name>`."""
    kafka: KafkaConfig
    topic: Annotated[str, Field(pattern=TOPIC_RE)]
    """The topic records go to (created by the kafka role, never auto-created)."""
    dead_letter_topic: Annotated[str, Field(pattern=TOPIC_RE)] = "lakefeed.dead-letter"
    """Where input that is not a valid record goes, with the reason."""
    max_record_bytes: int = Field(default=900_000, ge=1024)
    """Larger records are dead-lettered; keep it under the topic's `max.message.bytes`
    (1 MiB by default) less the envelope."""
    source: SourceConfig
    """One of the sources below, chosen by `type`."""
    producer: ProducerTuning = Field(default_factory=ProducerTuning)
    state_dir: Path = Path("/var/lib/lakefeed/collector")
    """Where resumable sources keep their position."""
    metrics: HttpEndpoint = _endpoint(9101)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the JSON log lines on stdout."""


# --- archiver ------------------------------------------------------------------------


class Rotation(Strict):
    """When a partition's open file is finished and moved to ready/ (first limit wins)."""

    max_records: int = Field(default=100_000, ge=1)
    """Records per file."""
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Uncompressed bytes per file (objects are about 5-10x smaller gzipped)."""
    max_age_seconds: float = Field(default=300.0, gt=0)
    """Seconds since the file's first record; bounds latency to the lake, also for a
    partition that went quiet."""


class ArchiverConfig(Strict):
    """`lakefeed archive`: a consumer group writing per-partition files into the spool."""

    kind: Literal["archiver"]
    kafka: KafkaConfig
    topics: list[Annotated[str, Field(pattern=TOPIC_RE)]] = Field(min_length=1)
    """Topics to archive."""
    group_id: str = Field(default="lakefeed-archiver", min_length=1)
    """Consumer group; all archivers of one lake share it."""
    group_instance_id: str | None = Field(default=None, min_length=1)
    """Static membership id (KIP-345), unique per archiver; unset = this host's name. A
    restart within `session_timeout_ms` gets its partitions back without a rebalance."""
    session_timeout_ms: int = Field(default=45_000, ge=6_000)
    """How long the group waits for a silent archiver before moving its partitions."""
    spool_dir: Path
    """The spool shared with the shipper on this host (`writing/`, `ready/`, `shipped/`)."""
    rotate: Rotation = Field(default_factory=Rotation)
    compression_level: int = Field(default=6, ge=1, le=9)
    """gzip level: 1 is fastest, 9 smallest."""
    max_poll_records: int = Field(default=10_000, ge=1)
    """Records per poll. Keep it above what one fetch brings (up to 1 MiB per partition):
    the next fetch is only sent once a poll has taken all of the last one."""
    min_free_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    """Below this much free space in the spool, consumption pauses (and /healthz says so)
    instead of writing files that cannot be finished. Checked every second, records
    arriving or not; consumption resumes once there is room again."""
    metrics: HttpEndpoint = _endpoint(9102)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the JSON log lines on stdout."""


# --- shipper -------------------------------------------------------------------------


class S3Config(Strict):
    """The lake: bucket, prefix and how to reach it."""

    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    """Bucket name."""
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9!_.*'()/-]*$")] = ""
    """Key prefix; objects go to `<prefix>/<topic>/year=/month=/day=/hour=/<file>`."""
    endpoint_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    """An S3-compatible endpoint (MinIO, Ceph...); unset = AWS."""
    region: str | None = None
    """AWS region of the bucket; unset = from the environment or instance metadata."""
    access_key: SecretRef | None = None
    """Only for S3-compatible endpoints; on AWS the instance profile supplies credentials."""
    secret_key: SecretRef | None = None
    """Goes with `access_key`."""
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    """`path` for most S3-compatible servers."""
    ca_bundle: Annotated[str, Field(pattern=r"^/\S+$")] | None = None
    """A PEM file (absolute path) of the CA that signed the endpoint's certificate, for an
    S3-compatible endpoint behind a private CA; unset = the CAs botocore ships."""
    multipart_threshold_bytes: int = Field(default=64 * 1024 * 1024, ge=5 * 1024 * 1024)
    """Files this large or larger are uploaded in parts."""
    multipart_chunk_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)
    """Part size (S3's minimum is 5 MiB)."""

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
    """Backoff with full jitter while uploads fail; reset by the first success."""

    initial_seconds: float = Field(default=1.0, gt=0)
    """First delay ceiling."""
    max_seconds: float = Field(default=60.0, gt=0)
    """Largest delay ceiling."""


class ShipperConfig(Strict):
    """`lakefeed ship`: ready/ files to S3, verified, then deleted or kept."""

    kind: Literal["shipper"]
    spool_dir: Path
    """The archiver's spool on this host."""
    s3: S3Config
    concurrency: int = Field(default=4, ge=1, le=64)
    """Files uploaded at once (and parts at once for a multipart file, up to 8)."""
    after_upload: Literal["delete", "keep"] = "delete"
    """After an object is verified: delete the file, or keep it in `shipped/`."""
    shipped_retention_hours: float = Field(default=24.0, ge=0)
    """With `keep`: how long files stay in `shipped/`."""
    retry: Retry = Field(default_factory=Retry)
    metrics: HttpEndpoint = _endpoint(9103)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the JSON log lines on stdout."""


DaemonConfig = CollectorConfig | ArchiverConfig | ShipperConfig
KINDS: dict[str, type[DaemonConfig]] = {
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


def parse(data: Any, source: str = "<config>") -> DaemonConfig:
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


def load(path: str | Path, kind: str | None = None) -> DaemonConfig:
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
    if kind is not None and config.kind != kind:
        raise ConfigError(f"{path}: kind: this command needs a {kind} config (got {config.kind!r})")
    return config


def check_secrets(config: Strict) -> None:
    """Resolve every SecretRef (and read the Kafka CA file) now, so a missing secret or
    file fails at start, not mid-stream."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, SecretRef):
            node.read(where)
        elif isinstance(node, BaseModel):
            if isinstance(node, KafkaConfig):
                node.check_files()
            for name in type(node).model_fields:
                walk(getattr(node, name), f"{where}.{name}" if where else name)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    walk(config, "")
