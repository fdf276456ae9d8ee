"""The contracts shared by the daemons: the record, the spool file name, the lake key.

Changing anything here changes data already in users' lakes: see docs/contracts.md.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses
from typing import Any

OFFSET_DIGITS = 20
SPOOL_SUFFIX = ".jsonl.gz"
_SPOOL_RE = re.compile(
    r"^(?P<topic>[A-Za-z0-9._-]+)\+(?P<partition>\d+)\+(?P<first>\d{20})-(?P<last>\d{20})"
    + re.escape(SPOOL_SUFFIX)
    + "$"
)


_LINE_BREAKERS = ("\u0085", "\u2028", "\u2029")


def utc_now_iso() -> str:
    """`2026-11-23T05:00:00.123Z`: millisecond precision, always UTC, always 24 chars."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


# One decoder for every line: json.loads with an argument would build one per call.
_STRICT = json.JSONDecoder(parse_constant=_not_json)


def loads_strict(text: bytes | str) -> Any:
    """json.loads, except that NaN, Infinity and -Infinity are errors: Python reads them,
    strict readers (Athena, Spark, jq) refuse a line that holds one. Bytes are decoded as
    json.loads decodes them (UTF-8, -16 or -32)."""
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _STRICT.decode(text)


# Why make_record refuses a payload holding a float JSON cannot write.
NOT_FINITE = "a number JSON cannot carry (NaN, Infinity, or beyond a double's range)"


def make_record(
    record_id: str, source: str, payload: Any, collected_at: str | None = None
) -> bytes:
    """One record line (without newline), UTF-8: the value produced to Kafka. Raises
    ValueError (NOT_FINITE) for a payload holding NaN or an infinity."""
    text = json.dumps(
        {
            "id": record_id,
            "source": source,
            "collected_at": collected_at or utc_now_iso(),
            "payload": payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    # JSON may carry U+0085, U+2028 and U+2029 raw, but many line readers (Python's
    # splitlines, JavaScript) break lines there: escape them, one record = one line.
    for char in _LINE_BREAKERS:
        if char in text:
            text = text.replace(char, f"\\u{ord(char):04x}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (`"\\ud800"` in the source's JSON) has no UTF-8 form: keep it
        # escaped, as the source sent it; the line is then ASCII, still one valid record.
        return json.dumps(
            {
                "id": record_id,
                "source": source,
                "collected_at": collected_at or utc_now_iso(),
                "payload": payload,
            },
            separators=(",", ":"),
            allow_nan=False,
        ).encode("ascii")


_JSON_WS = b" \t\r\n"
# Bytes a payload embedded verbatim must not hold: a raw line break (JSON allows one only
# as whitespace between tokens, and a record must stay one line), a line breaker of
# _LINE_BREAKERS in UTF-8 (JSON allows those only inside strings, unescaped), or a NUL,
# which UTF-8 JSON never holds but UTF-16/32 text (json.loads accepts it) always does.
_NOT_VERBATIM = (b"\n", b"\r", b"\x00", *(c.encode("utf-8") for c in _LINE_BREAKERS))
_BOM = b"\xef\xbb\xbf"


def make_record_raw(
    record_id: str, source: str, payload_json: bytes, collected_at: str | None = None
) -> bytes | None:
    """The record of `make_record` with the payload's JSON text embedded as it came.

    `payload_json` must be a JSON text the caller has already parsed successfully. Wrapping
    its bytes costs a fraction of re-serialising the parsed payload, and keeps the payload
    exactly as the source sent it (number spellings, key order, spacing). None when the
    bytes cannot go in verbatim: not strict UTF-8 (a BOM, UTF-16/32), or a line break
    inside; use `make_record` then. For a compact payload the two give the same bytes.
    """
    raw = payload_json.strip(_JSON_WS)
    if raw.isascii():  # most payloads: only the ASCII bytes can be in the way
        if b"\n" in raw or b"\r" in raw or b"\x00" in raw:
            return None
    elif raw.startswith(_BOM) or any(b in raw for b in _NOT_VERBATIM):
        return None
    else:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    head = (
        f'{{"id":{encode_basestring(record_id)},"source":{encode_basestring(source)},'
        f'"collected_at":{encode_basestring(collected_at or utc_now_iso())}'
    )
    if not head.isascii():
        for char in _LINE_BREAKERS:
            if char in head:
                head = head.replace(char, f"\\u{ord(char):04x}")
    return head.encode("utf-8") + b',"payload":' + raw + b"}"


# Where a lake line carries its Kafka coordinates (docs/contracts.md, ADR 14).
LAKE_COORDINATES = ("kafka_topic", "kafka_partition", "kafka_offset")
_WS_OR_OPEN = (b" ", b"\t", b"\r", b"\n", b"{")


def coordinates_tail(topic: str, partition: int) -> bytes:
    """The bytes `lake_line` puts before a record's closing brace, up to its offset.

    Topic names are `[A-Za-z0-9._-]` (Kafka's own rule), so none needs escaping."""
    return b',"kafka_topic":"%s","kafka_partition":%d,"kafka_offset":' % (
        topic.encode("ascii"),
        partition,
    )


def lake_line(value: bytes, tail: bytes, offset: int) -> bytes:
    """One lake line: the Kafka value with its coordinates added as the last members of
    its object (`tail` from `coordinates_tail`), and a newline.

    A value that is not a JSON object (it does not end with `}`) is written unchanged:
    only the collector's records and dead letters are promised coordinates.
    """
    # The byte before the brace, not a slice of the whole value: this runs per record.
    if value.endswith(b"}") and value[-2:-1] not in _WS_OR_OPEN:
        return b"%s%s%d}\n" % (value[:-1], tail, offset)
    body = value.rstrip(b" \t\r\n")
    if not body.endswith(b"}"):
        return body + b"\n"
    inner = body[:-1].rstrip(b" \t\r\n")
    if inner.endswith(b"{"):  # an empty object: no comma before the first member
        return b"%s%s%d}\n" % (inner, tail[1:], offset)
    return b"%s%s%d}\n" % (inner, tail, offset)


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path (`data.id`, `items.0.id`); KeyError if any step is missing."""
    if not path:
        return obj
    for step in path.split("."):
        if isinstance(obj, dict) and step in obj:
            obj = obj[step]
        elif isinstance(obj, list) and step.isdigit() and int(step) < len(obj):
            obj = obj[int(step)]
        else:
            raise KeyError(path)
    return obj


@dataclass(frozen=True, order=True)
class SpoolName:
    topic: str
    partition: int
    first: int
    last: int

    def __str__(self) -> str:
        return (
            f"{self.topic}+{self.partition}+{self.first:0{OFFSET_DIGITS}d}"
            f"-{self.last:0{OFFSET_DIGITS}d}{SPOOL_SUFFIX}"
        )

    @classmethod
    def parse(cls, name: str) -> SpoolName | None:
        m = _SPOOL_RE.match(name)
        if not m:
            return None
        return cls(m["topic"], int(m["partition"]), int(m["first"]), int(m["last"]))


def lake_key(prefix: str, name: SpoolName, first_collected_at: str) -> str:
    """`<prefix>/<topic>/year=YYYY/month=MM/day=DD/hour=HH/<file name>`, Hive-style."""
    when = parse_collected_at(first_collected_at)
    parts = [
        prefix.strip("/"),
        name.topic,
        f"year={when:%Y}",
        f"month={when:%m}",
        f"day={when:%d}",
        f"hour={when:%H}",
        str(name),
    ]
    return "/".join(p for p in parts if p)


def parse_collected_at(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
