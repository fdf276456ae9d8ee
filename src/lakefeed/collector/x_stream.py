"""The X API v2 filtered stream, through tweepy's `StreamingClient`.

Rules are synced from the config at start; then `run()` blocks in `filter()`, and every
record line is handed to the collector as the bytes received. Reconnecting is left to
tweepy's own backoff in `BaseStream._connect` (network errors: linear 0.25 s steps up to
16 s; HTTP errors: exponential from 5 s up to 320 s; 429: from 60 s). A 401 or 403 is
fatal: retrying with the same token cannot help.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests.utils import should_bypass_proxies

from lakefeed.collector.sources import Item, Source
from lakefeed.config import XStreamSourceConfig
from lakefeed.errors import FatalSourceError
from lakefeed.service import Backoff

logger = logging.getLogger(__name__)

# Both BaseClient.request and StreamingClient._connect build URLs on this host.
TWEEPY_HOST = "https://api.twitter.com"
CONFIG_KEY = "source.bearer_token"

T = TypeVar("T")


class _RebaseAdapter(HTTPAdapter):
    """Sends requests meant for tweepy's host to `base` instead (a gateway or a test double).

    Mounted on the client's session; `Session.close()` (which tweepy calls at the end of
    every `filter()`) only empties the adapter's pools, so it keeps working afterwards.
    """

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        if url.lower().startswith(TWEEPY_HOST):
            request.url = self.base + url[len(TWEEPY_HOST) :]
            # The session picked proxies for api.twitter.com; NO_PROXY may exempt the base.
            if kwargs.get("proxies") and should_bypass_proxies(request.url, no_proxy=None):
                kwargs["proxies"] = {}
        return super().send(request, **kwargs)


class _Redact(logging.Filter):
    """tweepy.client logs request headers at DEBUG, the bearer token among them."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg = message.replace(self.secret, "<redacted>")
            record.args = ()
        return True


def _auth_error(status: int, where: str) -> FatalSourceError:
    reason = "401 Unauthorized" if status == 401 else "403 Forbidden"
    hint = (
        "the token is wrong, revoked or not an app Bearer token"
        if status == 401
        else "the token's app has no access to the filtered stream (check its Project "
        "and access level)"
    )
    return FatalSourceError(
        f"{CONFIG_KEY}: the X API answered {reason} on {where}: {hint}; "
        f"check the token that {CONFIG_KEY} points at"
    )


class _Client(tweepy.StreamingClient):
    """tweepy's callbacks, routed to the source."""

    def __init__(self, source: XStreamSource, token: str) -> None:
        super().__init__(token, wait_on_rate_limit=False)
        self.source = source

    def on_connect(self) -> None:
        if self.source.stop.is_set():
            self.disconnect()  # close() may have run before _connect set running = True
            return
        logger.info("X stream connected")

    def on_data(self, raw_data: bytes) -> None:
        # The bytes as received: the collector parses them and dead-letters what is bad,
        # and `data`, `includes` and `matching_rules` stay together in one record.
        emitted = not raw_data.strip() or self.source.emit(Item(raw=raw_data))
        if not emitted or self.source.stop.is_set():
            self.disconnect()

    def on_keep_alive(self) -> None:
        if self.source.stop.is_set():
            self.disconnect()

    def on_request_error(self, status_code: int) -> None:
        if status_code in (401, 403):
            self.source.failure = _auth_error(status_code, "the filtered stream")
            self.disconnect()
            return
        if self.source.stop.is_set():
            self.disconnect()
            return
        logger.warning("X stream answered HTTP %d; tweepy retries after its backoff", status_code)

    def on_connection_error(self) -> None:
        if self.source.stop.is_set():
            self.disconnect()
            return
        logger.warning("X stream connection failed or timed out; tweepy reconnects")

    def on_closed(self, response: requests.Response) -> None:
        if not self.source.stop.is_set():
            logger.warning("X stream closed by the server; tweepy reconnects")

    def on_exception(self, exception: Exception) -> None:
        self.source.failure = exception

    def on_disconnect(self) -> None:
        logger.info("X stream disconnected")


class XStreamSource(Source):
    """Records from the X API v2 filtered stream, one per line, as received."""

    kind = "x_stream"

    def __init__(
        self, cfg: XStreamSourceConfig, out: queue.Queue[Item], stop: threading.Event
    ) -> None:
        super().__init__(out, stop)
        self.cfg = cfg
        self._token = cfg.bearer_token.read(CONFIG_KEY)
        # Set from tweepy's callbacks, raised by run() once filter() has returned.
        self.failure: BaseException | None = None
        self._stream_response: requests.Response | None = None
        self.client = _Client(self, self._token)
        # BaseClient and BaseStream each create a session and the last one wins: both the
        # rules calls and the stream use this one, so one adapter serves both.
        if cfg.api_base:
            self.client.session.mount(TWEEPY_HOST + "/", _RebaseAdapter(cfg.api_base))
        self.client.session.hooks["response"].append(self._remember_stream)
        self.filter_params: dict[str, list[str]] = {
            name: values
            for name, values in (
                ("expansions", cfg.expansions),
                ("tweet_fields", cfg.tweet_fields),
                ("user_fields", cfg.user_fields),
                ("media_fields", cfg.media_fields),
            )
            if values
        }

    def _remember_stream(self, response: requests.Response, **_: Any) -> None:
        if response.request.method == "GET" and urlsplit(response.url).path.endswith(
            "/search/stream"
        ):
            self._stream_response = response

    # --- rules -----------------------------------------------------------------------

    def _rules_call(self, what: str, call: Callable[[], T]) -> T | None:
        """One rules request; retries transient failures; None if stop was set meanwhile."""
        backoff = Backoff(5.0, 300.0, rand=lambda: 0.5 + random.random() / 2)  # noqa: S311
        while not self.stop.is_set():
            try:
                return call()
            except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
                raise _auth_error(exc.response.status_code, what) from exc
            except tweepy.TooManyRequests as exc:
                delay = backoff.next_delay()
                if exc.reset_time:
                    delay = max(delay, exc.reset_time - time.time() + 1)
                logger.warning("X API rate-limited %s; retrying in %.0fs", what, delay)
            except tweepy.TwitterServerError as exc:
                delay = backoff.next_delay()
                logger.warning(
                    "X API answered HTTP %d %s; retrying in %.1fs",
                    exc.response.status_code,
                    what,
                    delay,
                )
            except tweepy.HTTPException as exc:
                detail = "; ".join(exc.api_messages) or str(exc).splitlines()[0]
                raise FatalSourceError(
                    f"source.rules: the X API refused {what} "
                    f"(HTTP {exc.response.status_code}: {detail}); check source.rules and "
                    "source.api_base"
                ) from exc
            except requests.RequestException as exc:
                delay = backoff.next_delay()
                logger.warning(
                    "X API request failed %s (%s); retrying in %.1fs",
                    what,
                    type(exc).__name__,
                    delay,
                )
            self.stop.wait(delay)
        return None

    def sync_rules(self) -> bool:
        """Make the active rules equal the config's; False if stop was set meanwhile."""
        wanted = list(dict.fromkeys((rule.value, rule.tag) for rule in self.cfg.rules))
        current = self._rules_call("reading the stream rules", self.client.get_rules)
        if current is None:
            return False
        kept: set[tuple[str, str | None]] = set()
        stale: list[str] = []
        for rule in current.data or []:
            key = (rule.value, rule.tag)
            if key in wanted and key not in kept:
                kept.add(key)
            else:
                stale.append(str(rule.id))
        missing = [tweepy.StreamRule(value=v, tag=t) for v, t in wanted if (v, t) not in kept]
        # Delete before adding: X refuses a second rule with the same value, which is
        # what a changed tag would otherwise be.
        if stale:
            resp = self._rules_call(
                "deleting stream rules", lambda: self.client.delete_rules(stale)
            )
            if resp is None:
                return False
            if resp.errors:
                logger.warning(
                    "X did not delete %d stale rules: %s", len(resp.errors), _describe(resp.errors)
                )
        if missing:
            resp = self._rules_call("adding stream rules", lambda: self.client.add_rules(missing))
            if resp is None:
                return False
            if resp.errors:
                raise FatalSourceError(
                    f"source.rules: the X API did not create {len(resp.errors)} of "
                    f"{len(missing)} rules: {_describe(resp.errors)}; fix them in source.rules"
                )
        logger.info(
            "X stream rules synced: %d added, %d removed, %d kept",
            len(missing),
            len(stale),
            len(kept),
        )
        return True

    # --- streaming -------------------------------------------------------------------

    def run(self) -> None:
        redact = _Redact(self._token)
        tweepy_log = logging.getLogger("tweepy.client")
        tweepy_log.addFilter(redact)
        try:
            if not self.sync_rules():
                return
            while not self.stop.is_set():
                self.client.filter(**self.filter_params)
                if self.failure is not None:
                    raise self.failure
                if not self.stop.is_set():
                    # Only after max_retries HTTP errors in a row; tweepy has already
                    # waited its backoff before giving up.
                    logger.warning("X stream gave up reconnecting; connecting again")
        finally:
            self.client.session.close()
            tweepy_log.removeFilter(redact)

    def close(self) -> None:
        self.client.disconnect()
        # disconnect() is only noticed at the next line or keep-alive (X sends one every
        # 20 s); shutting the socket down wakes a read that is blocked now.
        response = self._stream_response
        if response is not None:
            with contextlib.suppress(ValueError, RuntimeError, OSError, AttributeError):
                response.raw.shutdown()


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        what = err.get("value") or err.get("id") or "?"
        why = err.get("title") or "error"
        details = err.get("details") or ([err["detail"]] if err.get("detail") else [])
        parts.append(f"{what!r}: {why}" + (f" ({'; '.join(map(str, details))})" if details else ""))
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return ", ".join(parts) + more
