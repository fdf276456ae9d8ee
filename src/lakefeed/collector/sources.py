"""Sources: where records come from. Each runs in its own thread and feeds a bounded queue.

A source hands the collector `Item`s: the bytes exactly as received (kept for the
dead-letter topic), and, for sources that resume, an opaque position that the collector
stores once every item up to it is acknowledged by Kafka.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from lakefeed import config
from lakefeed.errors import FatalSourceError
from lakefeed.record import NOT_FINITE, dig
from lakefeed.service import Backoff

logger = logging.getLogger(__name__)

_UNSET: Any = object()


@dataclass(slots=True)
class Item:
    raw: bytes
    payload: Any = _UNSET  # already-parsed JSON, when the source had to parse it anyway
    position: Any = None  # what to checkpoint once this item (and all before it) is acked

    @property
    def parsed(self) -> bool:
        return self.payload is not _UNSET


class Source:
    """Base: `run()` loops until `stop` is set, calling `emit()`; a thread runs it."""

    kind = "?"

    def __init__(self, out: queue.Queue[Item], stop: threading.Event) -> None:
        self.out = out
        self.stop = stop
        self.fatal: BaseException | None = None
        self.finished = threading.Event()
        # Set by a finite source that has given everything it has and stays up (a replay
        # at its end with at_end: idle): a collector that acknowledges nothing more is
        # then done, not stalled (lakefeed_collector_source_exhausted).
        self.exhausted = threading.Event()

    def emit(self, item: Item) -> bool:
        """Block while the queue is full (backpressure); False once stop is requested."""
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False

    def run(self) -> None:
        raise NotImplementedError

    def checkpoint(self, position: Any) -> None:
        """Called by the collector with the position of the newest acknowledged item."""

    def start(self) -> threading.Thread:
        def target() -> None:
            try:
                self.run()
            except FatalSourceError as exc:
                self.fatal = exc
                self.stop.set()
            except Exception as exc:
                logger.exception("source crashed")
                self.fatal = exc
                self.stop.set()
            finally:
                self.finished.set()

        thread = threading.Thread(target=target, name=f"source-{self.kind}", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Unblock `run()` from outside (e.g. a stream waiting for data)."""


class ReplaySource(Source):
    """A JSONL file at a given rate; resumes after the last acknowledged line."""

    kind = "replay"

    def __init__(
        self,
        cfg: config.ReplaySourceConfig,
        state_dir: Path,
        name: str,
        out: queue.Queue[Item],
        stop: threading.Event,
    ) -> None:
        super().__init__(out, stop)
        self.cfg = cfg
        self.state_file = state_dir / f"replay-{name}.json"

    def _load_position(self, size: int) -> int:
        if not self.cfg.resume:
            return 0
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            logger.warning("replay state unreadable, starting at the top: %s", exc)
            return 0
        if state.get("path") != str(self.cfg.path) or not 0 <= state.get("position", -1) <= size:
            logger.info("replay file changed since the last run; starting at the top")
            return 0
        return int(state["position"])

    def checkpoint(self, position: Any) -> None:
        if not self.cfg.resume or position is None:
            return
        tmp = self.state_file.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"path": str(self.cfg.path), "position": position}))
            f.flush()
            # Before the rename: after a power loss the state file is the old position
            # or the new one, never empty (which would replay the file from the top).
            os.fsync(f.fileno())
        os.replace(tmp, self.state_file)

    def run(self) -> None:
        try:
            f = self.cfg.path.open("rb")
        except OSError as exc:
            raise FatalSourceError(
                f"source.path: cannot open replay file {self.cfg.path}: {exc.strerror}"
            ) from exc
        with f:
            size = os.fstat(f.fileno()).st_size
            position = self._load_position(size)
            f.seek(position)
            if position:
                logger.info("replay resuming", extra={"position": position, "size": size})
            interval = 1.0 / self.cfg.rate if self.cfg.rate > 0 else 0.0
            next_at = time.monotonic()
            while not self.stop.is_set():
                line = f.readline()
                if not line:
                    if not self.cfg.loop:
                        logger.info("replay reached the end of the file")
                        if self.cfg.at_end == "idle":
                            self.exhausted.set()
                            self.stop.wait()
                        return
                    f.seek(0)
                    continue
                if not line.strip():
                    continue
                if interval:
                    next_at += interval
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        self.stop.wait(delay)
                    elif delay < -1.0:
                        next_at = time.monotonic()  # don't burst after a long stall
                if not self.emit(Item(raw=line.rstrip(b"\r\n"), position=f.tell())):
                    return


class HttpPollSource(Source):
    """Any JSON API on an interval: each element of the list at `records_path` is a record."""

    kind = "http_poll"

    def __init__(
        self, cfg: config.HttpPollSourceConfig, out: queue.Queue[Item], stop: threading.Event
    ) -> None:
        super().__init__(out, stop)
        self.cfg = cfg
        self.session = requests.Session()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.params = dict(cfg.params)
        self.headers = {"Accept": "application/json", **cfg.headers}
        if cfg.auth:
            secret = cfg.auth.prefix + cfg.auth.secret.read("source.auth.secret")
            (self.headers if cfg.auth.location == "header" else self.params)[cfg.auth.name] = secret
        self.backoff = Backoff(
            cfg.interval_seconds,
            max(cfg.interval_seconds, 300.0),
            rand=lambda: 0.5 + random.random() / 2,  # noqa: S311 - jitter, not a secret
        )

    def close(self) -> None:
        self.session.close()

    def _seen_before(self, record_id: str) -> bool:
        if record_id in self._seen:
            self._seen.move_to_end(record_id)
            return True
        self._seen[record_id] = None
        if len(self._seen) > self.cfg.seen_ids_max:
            self._seen.popitem(last=False)
        return False

    def poll_once(self) -> float:
        """One request; returns how long to wait before the next."""
        cfg = self.cfg
        try:
            resp = self.session.request(
                cfg.method,
                cfg.url,
                params=self.params,
                headers=self.headers,
                json=cfg.json_body,
                timeout=cfg.timeout_seconds,
            )
        except requests.RequestException as exc:
            delay = self.backoff.next_delay()
            logger.warning("poll failed: %s; retrying in %.1fs", type(exc).__name__, delay)
            return delay
        if resp.status_code in (401, 403):
            raise FatalSourceError(
                f"source.url answered {resp.status_code}: the API refused the credentials; "
                "check source.auth and the secret it names"
            )
        if resp.status_code == 429 or resp.status_code >= 500:
            delay = self.backoff.next_delay()
            retry_after = resp.headers.get("Retry-After", "")
            if retry_after.isdigit():
                delay = max(delay, float(retry_after))
            logger.warning("poll got HTTP %d; retrying in %.1fs", resp.status_code, delay)
            return delay
        if resp.status_code >= 400:
            # A 4xx other than auth/rate limit is a config mistake (bad path or params).
            raise FatalSourceError(
                f"source.url answered {resp.status_code}: check source.url, params and method"
            )
        self.backoff.reset()
        body = resp.content
        try:
            doc = json.loads(body)
            records = dig(doc, cfg.records_path)
        except (ValueError, KeyError) as exc:
            reason = (
                f"response is not JSON: {exc}"
                if isinstance(exc, ValueError)
                else f"response has no list at records_path '{cfg.records_path}'"
            )
            self.emit(Item(raw=body, payload=Invalid(reason)))
            return cfg.interval_seconds
        if not isinstance(records, list):
            self.emit(
                Item(
                    raw=body,
                    payload=Invalid(
                        f"records_path '{cfg.records_path}' is a "
                        f"{type(records).__name__}, not a list"
                    ),
                )
            )
            return cfg.interval_seconds
        emitted = skipped = 0
        for rec in records:
            if cfg.skip_seen_ids:
                try:
                    rid = str(dig(rec, cfg.id_path))
                except KeyError:
                    rid = None
                if rid is not None and self._seen_before(rid):
                    skipped += 1
                    continue
            raw, payload = _record_item(rec)
            if not self.emit(Item(raw=raw, payload=payload)):
                break
            emitted += 1
        logger.info("poll done", extra={"records": emitted, "skipped_seen": skipped})
        return cfg.interval_seconds

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            delay = self.poll_once()
            self.stop.wait(max(0.0, delay - (time.monotonic() - started)))


def _record_item(rec: Any) -> tuple[bytes, Any]:
    """(compact JSON bytes, payload) of one record of a polled response. NaN or Infinity in
    it (Python reads them, strict readers refuse them): the payload is Invalid, and only
    this record goes to the dead-letter topic, as the source wrote it."""
    try:
        text = json.dumps(rec, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(rec, separators=(",", ":")).encode(), Invalid(
            f"invalid JSON: {NOT_FINITE}"
        )
    try:
        return text.encode(), rec
    except UnicodeEncodeError:  # a lone surrogate: keep it escaped
        return json.dumps(rec, separators=(",", ":")).encode(), rec


@dataclass(frozen=True, slots=True)
class Invalid:
    """A payload the source already knows is bad; the collector dead-letters it."""

    reason: str
