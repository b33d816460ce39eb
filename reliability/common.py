"""What every scenario returns: one row of the table `make reliability` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

COLUMNS = (
    "scenario",
    "requests",
    "delivered",
    "queued",
    "parked",
    "lost",
    "duplicates",
    # The most vendor writes (sandbox records) any one deliveryId got; the bound is 2, 1 for a viewing
    # registration (DESIGN §6), checked in every scenario (reliability/writes.py).
    "max writes/id",
    "5xx",
    "seconds",
)


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
    max_writes: int | None = None  # None: no write of this scenario carried a delivery token

    def cells(self) -> tuple[str, ...]:
        return (
            self.scenario,
            str(self.requests),
            str(self.delivered),
            str(self.queued),
            str(self.parked),
            str(self.lost),
            str(self.duplicates),
            "-" if self.max_writes is None else str(self.max_writes),
            str(self.server_errors),
            f"{self.seconds:.1f}",
        )
