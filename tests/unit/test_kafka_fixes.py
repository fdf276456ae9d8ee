"""kafka_fixes.apply(): the broker's last answer before it closes is read.

Real sockets (a socketpair, TLS with a certificate made by openssl): the peer writes an
answer and closes before the client reads, as a broker does after refusing a login.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka.errors import KafkaConnectionError
from kafka.net.transport import KafkaSSLTransport, KafkaTCPTransport

from lakefeed import kafka_fixes

ANSWER = b"\x00\x00\x00\x05refused"


def read_until_error(transport: KafkaTCPTransport) -> tuple[bytes, Exception]:
    """What the transport's read loop hands on before it aborts, as `_read_from_sock` does."""
    handed_on = b""
    for _ in range(1000):
        select.select([transport._sock], [], [], 5)
        data, err = transport._sock_recv()
        if err is not None:
            return handed_on, err
        handed_on += data
    raise AssertionError("the transport never reported the close")


def closed_after_answer(send: Callable[[], None], client: socket.socket) -> None:
    send()
    # Both the answer and the close are queued before the client reads at all.
    select.select([client], [], [], 5)


def test_tcp_answer_before_close_is_handed_on() -> None:
    kafka_fixes.apply()
    kafka_fixes.apply()  # twice is harmless
    client, server = socket.socketpair()
    client.setblocking(False)
    transport = KafkaTCPTransport(None, client)

    def send() -> None:
        server.sendall(ANSWER)
        server.close()

    closed_after_answer(send, client)
    handed_on, err = read_until_error(transport)
    assert handed_on == ANSWER
    assert isinstance(err, KafkaConnectionError)
    client.close()


def test_tcp_long_answer_arrives_whole_then_the_close() -> None:
    kafka_fixes.apply()
    client, server = socket.socketpair()
    client.setblocking(False)
    transport = KafkaTCPTransport(None, client)
    answer = os.urandom(3 * 1024 * 1024)  # more than the socket buffers hold at once

    def send() -> None:
        server.sendall(answer)
        server.close()

    sender = threading.Thread(target=send)
    sender.start()
    handed_on, err = read_until_error(transport)
    sender.join(10)
    assert handed_on == answer
    assert isinstance(err, KafkaConnectionError)
    client.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("tls")
    key, crt = tmp / "broker.key", tmp / "broker.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "1",
         "-subj", "/CN=broker.test", "-addext", "subjectAltName=DNS:broker.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    return crt, key


def test_tls_answer_before_close_is_handed_on(cert: tuple[Path, Path]) -> None:
    kafka_fixes.apply()
    crt, key = cert
    client_sock, server_sock = socket.socketpair()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(crt, key)
    transport = KafkaSSLTransport(None, client_sock, host="broker.test", ssl_cafile=str(crt))
    server: list[ssl.SSLSocket] = []
    accept = threading.Thread(
        target=lambda: server.append(server_ctx.wrap_socket(server_sock, server_side=True))
    )
    accept.start()
    transport._sock.do_handshake()  # blocking here; the daemons do it in kafka-python's loop
    accept.join(10)
    transport._sock.setblocking(False)

    def send() -> None:
        server[0].sendall(ANSWER)
        server[0].close()

    closed_after_answer(send, transport._sock)
    handed_on, err = read_until_error(transport)
    assert handed_on == ANSWER
    assert isinstance(err, KafkaConnectionError)
    transport._sock.close()
