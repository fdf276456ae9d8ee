"""scripts/moto-serve: moto's server lets one request at a time into moto."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def _script() -> ModuleType:
    path = ROOT / "scripts" / "moto-serve"
    loader = importlib.machinery.SourceFileLoader("moto_serve", str(path))
    spec = importlib.util.spec_from_loader("moto_serve", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _at_once(request: Callable[[int], None], n: int = 8) -> None:
    """request(0) ... request(n - 1), each in a thread of its own, all started together."""
    threads = [threading.Thread(target=request, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Backend:
    """A WSGI app that, like moto's backends, must not run two requests at once: it
    records how many were inside it together, in the call and in the body."""

    def __init__(self, wait_for_company: bool = False) -> None:
        self.inside = 0
        self.most = 0
        self.guard = threading.Condition()
        # Each request waits (up to 5 s) until another is inside too: overlap is then
        # certain, not left to how a loaded machine schedules the threads.
        self.wait_for_company = wait_for_company

    def _enter(self) -> None:
        with self.guard:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.guard.notify_all()
            if self.wait_for_company:
                self.guard.wait_for(lambda: self.most > 1, timeout=5)

    def _leave(self) -> None:
        with self.guard:
            self.inside -= 1

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self._enter()
        time.sleep(0.02)
        start_response("200 OK", [])
        self._leave()

        def body() -> Any:
            # Built lazily, as moto's are from its dicts: it counts as inside too.
            self._enter()
            time.sleep(0.02)
            yield environ["PATH_INFO"].encode()
            self._leave()

        return body()


def test_concurrent_requests_reach_the_backend_one_at_a_time() -> None:
    backend = Backend()
    app = _script().one_at_a_time(backend)
    bodies: list[bytes] = []

    def request(i: int) -> None:
        bodies.append(b"".join(app({"PATH_INFO": f"/{i}"}, lambda *_: None)))

    _at_once(request)

    assert sorted(bodies) == sorted(f"/{i}".encode() for i in range(8))
    assert backend.most == 1


def test_the_backend_alone_would_overlap() -> None:
    """The check above can fail: without the wrapper, the same requests overlap."""
    backend = Backend(wait_for_company=True)

    def request(i: int) -> None:
        b"".join(backend({"PATH_INFO": f"/{i}"}, lambda *_: None))

    _at_once(request)

    assert backend.most > 1
