"""Two fixes to kafka-python 3.0.12's network thread, for the collector and the archiver.

Both daemons call `apply()` (through `kafka_connect.connect`) before building a client.
It imports only kafka-python, so bench/client_trial.py can apply the same to its loop.

1. Its socket read returns the bytes read together with an error when the peer closed,
   and the caller aborts without parsing the bytes. A broker that refuses a SCRAM login
   answers and closes at once; on a busy host both arrive before the client reads, and
   the daemon could only say "cannot connect" instead of naming the refused login.
2. It reads 4 KiB at a time, and every read gives up the GIL: with the interpreter's
   default 5 ms switch interval, getting it back means waiting up to 5 ms behind the
   busy main thread (decoding records, encoding them), so fetch responses and produce
   acknowledgements crawl in while the main thread works. Ours reads 256 KiB at a time,
   and the switch interval is 0.5 ms.

tests/unit/test_kafka_fixes.py shows the first on real TCP and TLS sockets; the second
is measured by bench/run (docs/benchmarks.md, rows 1 and 2). Check both before raising
the kafka-python pin.
"""

from __future__ import annotations

import ssl
import sys
from typing import Any

from kafka.errors import KafkaConnectionError
from kafka.net.transport import KafkaSSLTransport, KafkaTCPTransport

_RECV_BYTES = 256 * 1024
SWITCH_INTERVAL_S = 0.0005
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def _sock_recv(self: Any) -> tuple[bytes, KafkaConnectionError | None]:
    """Read what the socket holds: (bytes, None), or (b"", the error) when nothing was
    read before a close or an error; that error comes again on the next read."""
    chunks: list[bytes] = []
    err = None
    while True:
        try:
            chunk = self._sock.recv(_RECV_BYTES)
        except _WOULD_BLOCK:
            break
        except Exception as exc:  # noqa: BLE001 - as kafka-python: any failure ends the connection
            err = KafkaConnectionError(exc)
            break
        if not chunk:
            err = KafkaConnectionError("socket disconnected")
            break
        chunks.append(chunk)
    if chunks:
        return b"".join(chunks), None
    return b"", err


def apply() -> None:
    """Replace the socket read of kafka-python's TCP and TLS transports and shorten the
    switch interval (idempotent). Our read hands bytes read before a close on alone; the
    next read meets the close (a closed socket stays readable) and aborts as before."""
    for cls in (KafkaTCPTransport, KafkaSSLTransport):
        cls._sock_recv = _sock_recv  # type: ignore[method-assign]
    sys.setswitchinterval(SWITCH_INTERVAL_S)
