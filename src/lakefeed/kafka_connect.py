"""Connecting the collector's producer and the archiver's consumer, with a useful error.

kafka-python retries a refused login or a rejected broker certificate until its bootstrap
timeout and then raises a bare "Unable to bootstrap". The reason is only in its log
records, so while a client is built we watch them and, if building fails, say which of
the config's keys to check. Nothing here reads or prints a secret.

Before building, `kafka_fixes.apply()` fixes kafka-python's socket reads: without it, a
refused login's answer can be lost and only "cannot connect" said (see that module).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from kafka.errors import KafkaConnectionError, KafkaError, SaslAuthenticationFailedError

from lakefeed import kafka_fixes
from lakefeed.config import KafkaConfig
from lakefeed.errors import LakefeedError

T = TypeVar("T")

_TLS_REFUSED = "CERTIFICATE_VERIFY_FAILED"


class _Watch(logging.Handler):
    """Keeps the last login refusal and the last certificate rejection kafka-python logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.refused: SaslAuthenticationFailedError | None = None
        self.tls: KafkaConnectionError | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, SaslAuthenticationFailedError):
                self.refused = arg
            elif isinstance(arg, KafkaConnectionError) and _TLS_REFUSED in str(arg):
                self.tls = arg


def connect(cfg: KafkaConfig, build: Callable[[], T]) -> T:
    """`build()` a kafka-python client; a failure becomes a LakefeedError naming the fix."""
    kafka_fixes.apply()
    watch = _Watch()
    kafka_logger = logging.getLogger("kafka")
    kafka_logger.addHandler(watch)
    try:
        return build()
    except KafkaError as exc:
        raise LakefeedError(_explain(cfg, exc, watch)) from exc
    finally:
        kafka_logger.removeHandler(watch)


def _explain(cfg: KafkaConfig, exc: KafkaError, watch: _Watch) -> str:
    servers = ",".join(cfg.bootstrap_servers)
    if watch.refused is not None:
        assert cfg.sasl_password is not None
        return (
            f"kafka: the brokers ({servers}) refused the login of user {cfg.sasl_username!r} "
            f"({cfg.sasl_mechanism}): wrong password, or no such user on this cluster; check "
            f"kafka.sasl_username and the password in kafka.sasl_password "
            f"({cfg.sasl_password.describe()})"
        )
    if watch.tls is not None:
        return (
            f"kafka: TLS: a broker certificate was not accepted ({watch.tls}); check that "
            f"kafka.ssl_cafile ({cfg.ssl_cafile or 'unset: the system CAs'}) is the CA that "
            f"signed the brokers' certificates and that they name the hosts in "
            f"bootstrap_servers ({servers})"
        )
    hint = (
        "; with SASL_SSL, also that the brokers' client listener is SASL_SSL"
        if cfg.security_protocol == "SASL_SSL"
        else "; if the cluster runs SASL_SSL, set kafka.security_protocol and the sasl_* keys"
    )
    return (
        f"kafka.bootstrap_servers {cfg.bootstrap_servers}: cannot connect ({exc}); check the "
        f"addresses and that the brokers are up{hint}"
    )
