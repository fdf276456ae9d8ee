"""Run a lakefeed daemon under a wall-clock sampler of all its threads (`bench/run --profile`).

    python bench/profwrap.py OUT.txt collect -c collector.yaml

pyinstrument and cProfile see one thread; the daemons' work is split between threads
(the collector's source thread, kafka-python's sender/fetcher, the shipper's upload
pool), so this samples `sys._current_frames()` of every thread every 5 ms and writes,
per thread, where the samples were (self = innermost frame, total = anywhere on the
stack). Samples of a thread blocked in a wait count too: read `select`, `wait` and
`acquire` as idle time.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType

INTERVAL_S = 0.005
TOP = 40


def _where(frame: FrameType) -> tuple[str, str]:
    code = frame.f_code
    short = f"{Path(code.co_filename).parent.name}/{Path(code.co_filename).name}"
    return f"{code.co_qualname} ({short})", f"{code.co_qualname} ({short}:{frame.f_lineno})"


class Sampler:
    def __init__(self) -> None:
        self.samples: Counter[str] = Counter()
        self.self_at: dict[str, Counter[str]] = {}
        self.total_at: dict[str, Counter[str]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="profwrap", daemon=True)

    def run(self) -> None:
        me = threading.get_ident()
        while not self.stop.wait(INTERVAL_S):
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                name = names.get(ident, str(ident))
                self.samples[name] += 1
                seen = set()
                f: FrameType | None = frame
                leaf = True
                while f is not None:
                    func, line = _where(f)
                    if leaf:
                        self.self_at.setdefault(name, Counter())[line] += 1
                        leaf = False
                    if func not in seen:
                        seen.add(func)
                        self.total_at.setdefault(name, Counter())[func] += 1
                    f = f.f_back

    def report(self) -> str:
        lines = [f"wall-clock samples every {INTERVAL_S * 1000:.0f} ms, per thread", ""]
        for name, n in self.samples.most_common():
            lines.append(f"=== thread {name}: {n} samples ({n * INTERVAL_S:.1f} s)")
            lines.append("  self (innermost frame):")
            for where, k in self.self_at[name].most_common(TOP):
                lines.append(f"    {100 * k / n:5.1f}%  {where}")
            lines.append("  total (anywhere on the stack):")
            for where, k in self.total_at[name].most_common(TOP):
                lines.append(f"    {100 * k / n:5.1f}%  {where}")
            lines.append("")
        return "\n".join(lines)


def main() -> int:
    out = Path(sys.argv[1])
    from lakefeed.cli import main as lakefeed_main  # noqa: PLC0415 - after argv is read

    sampler = Sampler()
    sampler.thread.start()
    try:
        return lakefeed_main(sys.argv[2:])
    finally:
        sampler.stop.set()
        sampler.thread.join()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(sampler.report() + f"\npid {os.getpid()}\n")


if __name__ == "__main__":
    sys.exit(main())
