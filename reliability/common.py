"""What every scenario returns: one row of the table `make reliability` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

COLUMNS = ("scenario", "requests", "delivered", "queued", "parked", "lost", "duplicates", "5xx", "seconds")


@dataclass
class Row:
    """One scenario's accounting. `failures` lists broken invariants; an empty list means it passed."""

    scenario: str
    requests: int = 0
    delivered: int = 0
    queued: int = 0  # still on the failure queue when the scenario ended
    parked: int = 0
    lost: int = 0
    duplicates: int = 0
    server_errors: int = 0
    seconds: float = 0.0
    notes: str = ""
    failures: list[str] = field(default_factory=list)

    def cells(self) -> tuple[str, ...]:
        return (
            self.scenario,
            str(self.requests),
            str(self.delivered),
            str(self.queued),
            str(self.parked),
            str(self.lost),
            str(self.duplicates),
            str(self.server_errors),
            f"{self.seconds:.1f}",
        )
