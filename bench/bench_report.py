"""Result rows and docs/benchmarks.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

HEADER = "| benchmark | lakefeed | peer | peer value | ratio | goal | met? |"
RULE = "|---|---:|---|---:|---:|---:|:---:|"


@dataclass
class Row:
    key: str  # "1", "3a", ...: links the table row to its note
    benchmark: str
    lakefeed: str
    peer: str
    peer_value: str
    ratio: float | None
    goal: float | None  # the ratio the issue asks for, at least; None = no goal
    note: list[str] = field(default_factory=list)  # paragraphs
    why_no_ratio: str = ""  # when the peer could not be measured

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio >= self.goal

    @property
    def ratio_text(self) -> str:
        if self.ratio is None:
            return "n/a"
        # Truncated, not rounded: 0.499 must not read as 0.50 next to a goal of 0.5.
        if self.ratio >= 10:
            return f"{math.floor(self.ratio)}x"
        return f"{math.floor(self.ratio * 100) / 100:.2f}x"

    def cells(self) -> list[str]:
        ratio = self.ratio_text
        goal = f">= {self.goal:g}x" if self.goal is not None else "none set"
        met = {True: "yes", False: "**no**", None: "—"}[self.met]
        if self.goal is not None and self.ratio is None:
            met = "not measured"
        return [
            f"{self.key}. {self.benchmark}",
            self.lakefeed,
            self.peer,
            self.peer_value,
            ratio,
            goal,
            met,
        ]

    def markdown(self) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in self.cells()) + " |"


def render(
    header: list[tuple[str, str]],
    intro: list[str],
    rows: list[Row],
    sections: list[tuple[str, list[str]]],
) -> str:
    out = ["# Benchmarks", ""]
    for para in intro:
        out += [para, ""]
    out += ["| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in header]
    out += ["", "## Results", "", HEADER, RULE]
    out += [r.markdown() for r in rows]
    out += ["", "## What each row measured", ""]
    for r in rows:
        out.append(f"### {r.key}. {r.benchmark}")
        out.append("")
        for para in r.note:
            out += [para, ""]
    for title, paras in sections:
        out += [f"## {title}", ""]
        for para in paras:
            out += [para, ""]
    return "\n".join(out).rstrip() + "\n"
