"""Plain-text and Markdown tables, and small statistics helpers."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p50 of an even count is the lower middle value)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def mb(value_bytes: float) -> str:
    return f"{value_bytes / 1_000_000:.2f} MB"


def kib(value_bytes: float) -> str:
    return f"{value_bytes / 1024:.1f} KiB"


def met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


class Table:
    def __init__(self, title: str, headers: Sequence[str]) -> None:
        self.title = title
        self.headers = list(headers)
        self.rows: list[list[str]] = []
        self.notes: list[str] = []

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def note(self, text: str) -> None:
        self.notes.append(text)

    def _widths(self) -> list[int]:
        return [max(len(r[i]) for r in [self.headers, *self.rows]) for i in range(len(self.headers))]

    def text(self) -> str:
        widths = self._widths()

        def line(cells: Sequence[str]) -> str:
            out = []
            for i, cell in enumerate(cells):
                out.append(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]))
            return "  ".join(out).rstrip()

        parts = [self.title, "-" * len(self.title), line(self.headers), line(["-" * w for w in widths])]
        parts += [line(r) for r in self.rows]
        parts += [f"  {n}" for n in self.notes]
        return "\n".join(parts)

    def markdown(self) -> str:
        parts = [f"#### {self.title}", "", "| " + " | ".join(self.headers) + " |"]
        parts.append("|" + "|".join(["---"] + ["---:"] * (len(self.headers) - 1)) + "|")
        parts += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            parts += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(parts)
