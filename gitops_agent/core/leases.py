"""The leader election record of a Lease, as a value: who holds it, for how long, since when.

``LeaseRecord`` is ``resourcelock.LeaderElectionRecord`` with the ``resourceVersion`` it was
read at; ``micro_time`` writes the API's ``MicroTime``. Pure; used by the elector
(``service.leadership``) and the Lease adapter (``targets.leases``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The leader election record a Lease's spec holds (``resourcelock.LeaderElectionRecord``)
    and the ``resourceVersion`` it was read at."""

    holder: str
    duration: int
    acquired: str
    renewed: str
    transitions: int
    resource_version: str = ""

    def same_record(self, other: LeaseRecord | None) -> bool:
        """Whether nothing of the record changed (the resourceVersion aside)."""
        return (
            other is not None
            and dataclasses.replace(other, resource_version=self.resource_version) == self
        )


def micro_time(moment: datetime) -> str:
    """A ``MicroTime`` as the API writes it: RFC 3339 with six fractional digits, UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
