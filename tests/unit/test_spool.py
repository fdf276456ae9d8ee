"""The spool writer: deterministic bytes, crash leftovers, what the archiver resumes from."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import crc32c

from lakefeed.archiver.writer import Compressor, PartitionFile
from lakefeed.record import SpoolName
from lakefeed.shipper.daemon import file_digest
from lakefeed.spool import Spool


def write(spool: Spool, first: int, n: int, partition: int = 0) -> Path:
    pf = PartitionFile(spool, "t", partition, first, level=6)
    for i in range(n):
        pf.write(first + i, b'{"id":"%d"}' % (first + i))
    return pf.finish()


def test_a_file_remade_from_the_same_records_has_the_same_bytes(tmp_path: Path) -> None:
    a, b = Spool(tmp_path / "a"), Spool(tmp_path / "b")
    a.ensure()
    b.ensure()
    fa, fb = write(a, 10, 500), write(b, 10, 500)
    assert fa.name == fb.name == str(SpoolName("t", 0, 10, 509))
    assert fa.read_bytes() == fb.read_bytes()
    assert gzip.decompress(fa.read_bytes()).splitlines()[0] == (
        b'{"id":"10","kafka_topic":"t","kafka_partition":0,"kafka_offset":10}'
    )


def test_finished_file_is_only_in_ready(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    path = write(spool, 0, 3)
    assert path.parent == spool.ready
    assert list(spool.writing.iterdir()) == []


def test_partials_from_a_crash_are_discarded(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    pf = PartitionFile(spool, "t", 0, 7, level=1)
    pf.write(7, b"{}")
    pf._raw.close()  # the process died here: the file stays, never finished
    assert spool.discard_partials() == ["t+0+00000000000000000007.part"]
    assert list(spool.writing.iterdir()) == []


def test_discard_removes_the_open_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    pf = PartitionFile(spool, "t", 0, 0, level=1)
    pf.write(0, b"{}")
    pf.discard()
    assert list(spool.writing.iterdir()) == []


def test_last_offsets_cover_ready_and_shipped(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    write(spool, 0, 10, partition=0)
    shipped = write(spool, 10, 5, partition=0)
    shipped.rename(spool.shipped / shipped.name)
    write(spool, 100, 1, partition=2)
    (spool.ready / "not-a-spool-file.txt").write_text("x")
    assert spool.last_offsets() == {("t", 0): 14, ("t", 2): 100}


def test_each_line_carries_its_coordinates_and_one_newline(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    pf = PartitionFile(spool, "x.posts", 3, 7, level=1)
    values = [b'{"id":"a"}\n', b"{}", b"{ }", b'{"id":"b","payload":{}} \r\n', b"[1]", b'"s"']
    for i, value in enumerate(values):
        pf.write(7 + i, value)
    tail = b'"kafka_topic":"x.posts","kafka_partition":3,"kafka_offset":'
    assert gzip.decompress(pf.finish().read_bytes()).splitlines() == [
        b'{"id":"a",' + tail + b"7}",
        b"{" + tail + b"8}",
        b"{" + tail + b"9}",
        b'{"id":"b","payload":{},' + tail + b"10}",
        # Not an object: nowhere to put them, so the value is written as it came.
        b"[1]",
        b'"s"',
    ]


def crc32c_be(data: bytes) -> bytes:
    return crc32c.crc32c(data).to_bytes(4, "big")


def test_file_digest_hashes_whole_file_and_checksums_parts_in_one_pass(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # 2,560,000 bytes: parts that straddle read chunks
    path = tmp_path / "f"
    path.write_bytes(data)
    part = 1_000_003
    size, whole, parts = file_digest(path, part)
    assert size == len(data)
    assert whole == hashlib.sha256(data).digest()
    # Each part's CRC32C, big-endian, as S3's x-amz-checksum-crc32c carries it.
    want = [crc32c_be(data[i : i + part]) for i in range(0, len(data), part)]
    assert parts == want
    assert len(parts) == 3
    assert file_digest(path)[2] == []


def test_files_compressed_on_the_compressor_threads_have_the_same_bytes(tmp_path: Path) -> None:
    a, b = Spool(tmp_path / "a"), Spool(tmp_path / "b")
    a.ensure()
    b.ensure()
    compressor = Compressor(max_chunks=2)
    try:
        # ~3.5 MiB of lines a file: several chunks each, three files interleaved on the
        # two threads (files 0 and 2 share one).
        lines = [b'{"id":"%d","pad":"%s"}' % (i, b"x" * (i % 700)) for i in range(10_000)]
        threaded = [PartitionFile(a, "t", p, 0, level=6, compressor=compressor) for p in range(3)]
        plain = [PartitionFile(b, "t", p, 0, level=6) for p in range(3)]
        for i, line in enumerate(lines):
            for pf in (*threaded, *plain):
                pf.write(i, line)
        for x, y in zip(threaded, plain, strict=True):
            fx, fy = x.finish(), y.finish()
            assert fx.name == fy.name
            assert fx.read_bytes() == fy.read_bytes()
        assert gzip.decompress(fx.read_bytes()).splitlines() == [
            b'%s,"kafka_topic":"t","kafka_partition":2,"kafka_offset":%d}' % (line[:-1], i)
            for i, line in enumerate(lines)
        ]
    finally:
        compressor.close()


def test_discard_with_chunks_on_the_compressor_thread(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.ensure()
    compressor = Compressor()
    try:
        pf = PartitionFile(spool, "t", 0, 0, level=1, compressor=compressor)
        for i in range(3000):
            pf.write(i, b'{"pad":"%s"}' % (b"y" * 1000))
        pf.discard()
        assert list(spool.writing.iterdir()) == []
    finally:
        compressor.close()
