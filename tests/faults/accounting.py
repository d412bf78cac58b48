"""What a fault test owes its reader: every message accounted for, printed at the end.

Every acknowledged inbound webhook is in the store exactly once; every outgoing message has
ended (delivered, sent and awaiting a report, failed with a reason, unknown, cancelled) with
nothing half-sent; nothing went to a person who had opted out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from outreach.store.database import Database
from outreach.store.models import Message, OutboxItem

# accepted and sent: Twilio took it, and its report has not come (or was lost on the way).
ENDED = {"delivered", "accepted", "sent", "failed", "undelivered", "unknown", "cancelled"}


@dataclass
class Accounting:
    acknowledged: int = 0
    stored_once: int = 0
    stored_twice: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    outgoing: Counter[str] = field(default_factory=Counter)
    failed_without_reason: int = 0
    outbox_left: int = 0
    sent_to_opted_out: int = 0

    def __str__(self) -> str:
        out = ", ".join(f"{n} {status}" for status, n in sorted(self.outgoing.items()))
        return (
            f"inbound: {self.acknowledged} acknowledged, {self.stored_once} stored once, "
            f"{len(self.stored_twice)} twice, {len(self.missing)} missing; "
            f"outgoing: {out or 'none'}; {self.failed_without_reason} failed without a reason, "
            f"{self.outbox_left} left in the outbox; {self.sent_to_opted_out} sent after STOP"
        )

    def assert_whole(self) -> None:
        print(f"\naccounting: {self}")
        assert not self.missing, f"acknowledged but not stored: {self.missing[:5]}"
        assert not self.stored_twice, f"stored twice: {self.stored_twice[:5]}"
        assert set(self.outgoing) <= ENDED, f"not ended: {self.outgoing}"
        assert self.failed_without_reason == 0
        assert self.outbox_left == 0
        assert self.sent_to_opted_out == 0


def account(
    db: Database,
    *,
    acknowledged: Collection[str],
    sent_numbers: Iterable[str] = (),
    opted_out_numbers: Collection[str] = (),
) -> Accounting:
    """The accounting of the store in ``db`` after a test's run: ``acknowledged`` are the
    provider ids of inbound webhooks that were answered 2xx, ``sent_numbers`` the numbers the
    fake provider was asked to text, ``opted_out_numbers`` those who had said STOP before."""
    result = Accounting(acknowledged=len(acknowledged))
    with db.transaction() as tx:
        stored = Counter(
            tx.scalars(select(Message.provider_id).where(Message.direction == "in")).all()
        )
        for sid in acknowledged:
            if stored[sid] == 0:
                result.missing.append(sid)
            elif stored[sid] > 1:
                result.stored_twice.append(sid)
            else:
                result.stored_once += 1
        outgoing = tx.execute(
            select(Message.status, Message.error_code, Message.status_history).where(
                Message.direction == "out"
            )
        ).all()
        for status, code, history in outgoing:
            result.outgoing[status] += 1
            if status in ("failed", "undelivered") and not (code or _reason(history)):
                result.failed_without_reason += 1
        result.outbox_left = tx.scalar(select(func.count()).select_from(OutboxItem)) or 0
    result.sent_to_opted_out = sum(1 for number in sent_numbers if number in opted_out_numbers)
    return result


def _reason(history: list[dict[str, object]] | None) -> bool:
    return any(entry.get("detail") or entry.get("code") for entry in history or [])
