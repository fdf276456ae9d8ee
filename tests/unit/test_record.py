"""The record, spool-name and lake-key contracts."""

from __future__ import annotations

import json
import re

import pytest

from lakefeed.record import (
    SpoolName,
    dig,
    lake_key,
    make_record,
    make_record_raw,
    utc_now_iso,
)


def test_record_shape_and_utf8() -> None:
    line = make_record("42", "replay:nba", {"text": "é 🚀"}, "2026-11-23T05:00:00.123Z")
    assert json.loads(line) == {
        "id": "42",
        "source": "replay:nba",
        "collected_at": "2026-11-23T05:00:00.123Z",
        "payload": {"text": "é 🚀"},
    }
    assert "🚀".encode() in line  # UTF-8, not \\u escapes
    assert b"\n" not in line


def test_collected_at_format() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now_iso())


def test_spool_name_round_trip_and_sorting() -> None:
    a = SpoolName("tweets", 2, 0, 99)
    b = SpoolName("tweets", 2, 100, 1234)
    assert str(a) == "tweets+2+00000000000000000000-00000000000000000099.jsonl.gz"
    assert SpoolName.parse(str(b)) == b
    assert sorted([str(b), str(a)]) == [str(a), str(b)]


@pytest.mark.parametrize(
    "name",
    ["tweets+2+0-99.jsonl.gz", "tweets+2+00000000000000000000.jsonl.gz.part", "x.json", ""],
)
def test_spool_name_rejects_other_files(name: str) -> None:
    assert SpoolName.parse(name) is None


def test_lake_key_uses_first_record_hour_in_utc() -> None:
    name = SpoolName("tweets", 0, 5, 9)
    key = lake_key("raw/x", name, "2026-11-23T23:59:59.999Z")
    assert key == f"raw/x/tweets/year=2026/month=11/day=23/hour=23/{name}"
    assert lake_key("", name, "2026-01-02T03:00:00+02:00").startswith(
        "tweets/year=2026/month=01/day=02/hour=01/"
    )


def test_dig() -> None:
    doc = {"data": {"id": "1", "list": [{"id": 7}]}}
    assert dig(doc, "data.id") == "1"
    assert dig(doc, "data.list.0.id") == 7
    assert dig(doc, "") is doc
    with pytest.raises(KeyError):
        dig(doc, "data.nope")
    with pytest.raises(KeyError):
        dig(doc, "data.list.3")


def test_unicode_line_separators_are_escaped_so_a_record_stays_one_line() -> None:
    text = "a\u2028b\u2029c\x85d\ne"
    line = make_record("1", "s", {"text": text}, "2026-11-23T05:00:00.123Z")
    assert len(line.decode("utf-8").splitlines()) == 1
    assert json.loads(line)["payload"]["text"] == text


def test_raw_record_is_the_same_bytes_as_make_record_for_a_compact_payload() -> None:
    payload = {"data": {"id": "7", "text": "é 🚀"}, "n": [1, 2.5, None, True]}
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    at = "2026-11-23T05:00:00.123Z"
    assert make_record_raw("7", "replay:nba", raw, at) == make_record(
        "7", "replay:nba", payload, at
    )


def test_raw_record_keeps_the_payload_as_the_source_sent_it() -> None:
    raw = b' {"id": "1",  "price": 1.10, "big": 12345678901234567890123} \r\n'
    line = make_record_raw("1\u2028x", "s", raw, "2026-11-23T05:00:00.123Z")
    assert line is not None
    assert line.endswith(b',"payload":{"id": "1",  "price": 1.10, "big": 12345678901234567890123}}')
    assert len(line.decode("utf-8").splitlines()) == 1  # the id's U+2028 is escaped
    record = json.loads(line)
    assert record["id"] == "1\u2028x"
    assert record["payload"] == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":\n1}',  # a line break between tokens
        b'{"a":\r1}',
        '{"a":"x\u2028y"}'.encode(),  # JSON allows these unescaped inside strings
        '{"a":"x\u0085y"}'.encode(),
        b'\xef\xbb\xbf{"a":1}',  # BOM
        '{"a":1}'.encode("utf-16-le"),  # json.loads accepts UTF-16/32
        b'{"a":"\xed\xa0\x80"}',  # a UTF-8-encoded surrogate: not strict UTF-8
    ],
)
def test_raw_record_refuses_bytes_it_cannot_embed_verbatim(raw: bytes) -> None:
    assert make_record_raw("1", "s", raw) is None


def test_a_lone_surrogate_stays_escaped_instead_of_failing() -> None:
    payload = json.loads('{"text": "half a pair: \\ud800"}')
    line = make_record("1", "s", payload, "2026-11-23T05:00:00.123Z")
    assert b"\\ud800" in line
    assert json.loads(line)["payload"] == payload
