"""Sending the outbox: claim, send, record — so that every notice goes out exactly once.

Protocol, per recipient (one digest per recipient per run, in parts when it is long):

1. **Claim** (own transaction): the ready ``pending`` rows of the recipient are taken
   in the digest's order (most urgent stage first, then rule, due date, case) and cut
   into **parts** of at most ``delivery.max_lines_per_email`` lines, each named by its
   digest key (a hash of the recipient and the part's notice ids). Per part, one
   conditional ``UPDATE … WHERE id IN (…) AND status = 'pending'`` switches its rows to
   ``sending``; every row count must match, or nothing is claimed (another sender got
   there: skip). The claim stores on every row the run, the part's digest key, the
   Message-ID derived from it, and ``digest_part`` of ``digest_parts``. All parts are
   claimed in one transaction, so the numbering ("del 2 av 7") is fixed before anything
   is sent.
2. **Send** each part, one after the other, rendered from that part's rows only.
3. **Record** each part right after its send (own transaction): ``sent`` (with the
   time), or back to ``pending`` with capped exponential backoff on a transient
   failure, or ``dead`` on a permanent one (or when the attempts are used up); plus one
   ``deliveries`` row for the attempt.

A run killed after 1 leaves the parts not yet recorded in ``sending``. The next run
(it holds the run lock, so no sender is alive) first **recovers** them: it resends each
such part with its stored Message-ID and part number; parts already recorded are not
touched. Killed between the server's acceptance of a part and its record, that one part
is sent twice with the same Message-ID (mail clients collapse it); killed anywhere
else, every part exactly once. A part that failed transiently goes back to ``pending``
and is claimed again, into a new digest, by a later run.

Why parts and not one e-mail: on the first night at national scale a barnevernsjef can
have 100,000 lines; one e-mail of that size cannot be read, may be refused by the mail
server, and would have to be held in memory whole. Parts of a few hundred lines, the
most urgent first, are readable one at a time, and each is claimed, sent and recorded
on its own, so memory is bounded by the part size, not by the recipient's backlog.

``fail_at(step)`` is called after each step (``claimed``, then ``sent`` and ``recorded``
for every part) to let tests simulate a crash there by raising.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Callable, Sequence

from sqlalchemy import Engine, case, insert, select, update

from frister.db.dialect import after_bulk_write
from frister.escalation.config import Ladder, Recipients
from frister.escalation.models import Delivery, Notice
from frister.notify.digest import DigestRenderer, NoticeLine
from frister.notify.transport import SendError, Transport

log = logging.getLogger("frister.escalation")

FailAt = Callable[[str], None]
MAINTAIN_FROM = 10_000  # notices sent in one run from which the outbox is maintained afterwards


class _ClaimLost(Exception):
    pass


def _no_fail(step: str) -> None:
    return None


@dataclass
class SendCounts:
    attempted: int = 0
    sent: int = 0
    retried: int = 0
    retrying: int = 0
    dead: int = 0
    emails_sent: int = 0
    emails_failed: int = 0


def digest_key(recipient: str, notice_ids: Sequence[int]) -> str:
    """Identifies a digest by its recipient and notices (not by its wording, which
    depends on the date), so a resend after a crash has the same Message-ID."""
    joined = recipient.lower() + ":" + ",".join(str(i) for i in sorted(notice_ids))
    return hashlib.sha256(joined.encode()).hexdigest()


def message_id_for(key: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "frister.invalid"
    return f"<frister.{key[:40]}@{domain}>"


class Outbox:
    """Sends what is pending, for one run. See the module docstring for the protocol."""

    def __init__(self, engine: Engine, run_id: int, as_of: dt.date, transport: Transport,
                 renderer: DigestRenderer, recipients: Recipients, ladder: Ladder, sender: str,
                 now: Callable[[], dt.datetime], fail_at: FailAt | None = None):
        self.engine = engine
        self.run_id = run_id
        self.as_of = as_of
        self.transport = transport
        self.renderer = renderer
        self.recipients = recipients
        self.ladder = ladder
        self.sender = sender
        self.now = now
        self.fail_at = fail_at or _no_fail
        self.counts = SendCounts()

    # --- the whole send phase ------------------------------------------------------

    def send_all(self) -> SendCounts:
        self.check_recipients()
        for key, recipient, message_id, part, parts in self._abandoned_claims():
            log.info("resending digest %s left unfinished by an earlier run", message_id)
            self._send_claimed(key, recipient, message_id, part, parts)
        for recipient in self._ready_recipients():
            claimed = self.claim(recipient)
            if claimed:
                self.fail_at("claimed")
                for key, message_id, part, parts in claimed:
                    self._send_claimed(key, recipient, message_id, part, parts)
        if self.counts.attempted >= MAINTAIN_FROM:
            # Each notice sent left its 'pending' and 'sending' row versions behind.
            after_bulk_write(self.engine, [Notice.__tablename__])
        return self.counts

    def check_recipients(self) -> None:
        """Refuse (ConfigError) before anything is sent if any address waiting in the
        outbox is outside the allowed domains (the recipients file may have changed)."""
        with self.engine.connect() as conn:
            waiting = conn.execute(
                select(Notice.recipient).where(Notice.status.in_(("pending", "sending"))).distinct()
            ).scalars().all()
        for address in waiting:
            self.recipients.check(address)

    # --- steps ---------------------------------------------------------------------

    def _abandoned_claims(self) -> list[tuple[str, str, str, int | None, int | None]]:
        """The parts claimed but not recorded by an earlier run (one row per part)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Notice.digest_key, Notice.recipient, Notice.message_id, Notice.digest_part,
                       Notice.digest_parts)
                .where(Notice.status == "sending").distinct()
                .order_by(Notice.recipient, Notice.digest_part, Notice.digest_key)
            ).all()
        return [tuple(r) for r in rows]

    def _ready_recipients(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(Notice.recipient).where(*self._ready()).distinct().order_by(Notice.recipient)
            ).scalars())

    def _ready(self):
        now = self.now()
        return (Notice.status == "pending",
                (Notice.next_attempt_at.is_(None)) | (Notice.next_attempt_at <= now))

    def claim(self, recipient: str) -> list[tuple[str, str, int, int]] | None:
        """Claim every ready notice of ``recipient``, in parts: ``[(digest key, Message-ID,
        part, parts)]``; None when there is nothing or another sender won."""
        try:
            return self._claim(recipient)
        except _ClaimLost as lost:
            log.warning("claim lost for one recipient (%s): skipped", lost)
            return None

    def _digest_order(self) -> tuple:
        """The digest's order as SQL (see :mod:`frister.notify.digest`): the most urgent
        stage first, then rule title and basis, then due date, case and period."""
        stages = {s.name for s in self.ladder.all_stages}
        titles = self.renderer.rule_titles
        ranked = sorted(titles, key=lambda rule: (titles[rule], rule))
        urgency = case({name: self.ladder.urgency(name) for name in stages}, value=Notice.stage, else_=10_000) \
            if stages else None
        title = case({rule: i for i, rule in enumerate(ranked)}, value=Notice.rule, else_=len(ranked)) \
            if ranked else None
        return tuple(x for x in (urgency, Notice.stage, title, Notice.rule, Notice.basis, Notice.due_on,
                                 Notice.case_id, Notice.period, Notice.id) if x is not None)

    def _claim(self, recipient: str) -> list[tuple[str, str, int, int]] | None:
        size = self.ladder.delivery.max_lines_per_email
        with self.engine.begin() as conn:
            ids = conn.execute(select(Notice.id).where(Notice.recipient == recipient, *self._ready())
                               .order_by(*self._digest_order())).scalars().all()
            if not ids:
                return None
            parts = [ids[i:i + size] for i in range(0, len(ids), size)]
            claimed = []
            for number, part in enumerate(parts, start=1):
                key = digest_key(recipient, part)
                message_id = message_id_for(key, self.sender)
                done = conn.execute(
                    update(Notice).where(Notice.id.in_(part), Notice.status == "pending")
                    .values(status="sending", claimed_run_id=self.run_id, digest_key=key, message_id=message_id,
                            digest_part=number, digest_parts=len(parts))
                ).rowcount
                if done != len(part):
                    raise _ClaimLost(f"{done} of {len(part)} notices")  # rolls the whole claim back
                claimed.append((key, message_id, number, len(parts)))
        return claimed

    def _send_claimed(self, key: str, recipient: str, message_id: str, part: int | None = None,
                      parts: int | None = None) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Notice.id, Notice.status, Notice.recipient, Notice.attempts, Notice.claimed_run_id,
                       Notice.role, Notice.case_id, Notice.rule, Notice.period, Notice.stage, Notice.ordinal,
                       Notice.due_on, Notice.unit, Notice.caseworker, Notice.basis, Notice.duty, Notice.repeat)
                .where(Notice.digest_key == key)
            ).all()
        rows = [r for r in rows if r.status == "sending" and r.recipient == recipient]
        if not rows:
            return
        retried = sum(1 for r in rows if r.attempts > 0 or r.claimed_run_id != self.run_id)
        lines = [NoticeLine(r.case_id, r.rule, r.period, r.stage, r.ordinal - 1, r.due_on, r.unit, r.caseworker,
                            r.basis, self.ladder.is_last_repeat(r.rule, r.stage, r.repeat), r.duty) for r in rows]
        role = self.recipients.role_of(recipient)
        self.recipients.check(recipient)
        message = self.renderer.render(lines, self.as_of, role, self.sender, recipient, message_id, self.now(),
                                       part, parts)
        error: SendError | None = None
        try:
            self.transport.send(message)
        except SendError as exc:
            error = exc
        else:
            self.fail_at("sent")
        self._record(key, recipient, message_id, rows, error)
        self.counts.attempted += len(rows)
        self.counts.retried += retried
        self.fail_at("recorded")

    def _record(self, key: str, recipient: str, message_id: str, rows, error: SendError | None) -> None:
        """Record the send of one claimed part (``rows``, found by its key) in one transaction."""
        now = self.now()
        delivery = self.ladder.delivery
        with self.engine.begin() as conn:
            claimed = (Notice.id.in_([r.id for r in rows]), Notice.status == "sending")
            if error is None:
                outcome = "sent"
                conn.execute(update(Notice).where(*claimed)
                             .values(status="sent", sent_at=now, attempts=Notice.attempts + 1, last_error=None))
                self.counts.sent += len(rows)
                self.counts.emails_sent += 1
            else:
                outcome = "permanent" if error.permanent else "transient"
                self.counts.emails_failed += 1
                by_attempts: dict[int, int] = {}
                for r in rows:
                    by_attempts[r.attempts + 1] = by_attempts.get(r.attempts + 1, 0) + 1
                for attempts, count in by_attempts.items():
                    dead = error.permanent or attempts >= delivery.max_attempts
                    values = {"attempts": attempts, "last_error": str(error)[:200]}
                    if dead:
                        values |= {"status": "dead", "next_attempt_at": None}
                        self.counts.dead += count
                    else:
                        wait = dt.timedelta(minutes=delivery.backoff(attempts))
                        values |= {"status": "pending", "next_attempt_at": now + wait}
                        self.counts.retrying += count
                    conn.execute(update(Notice).where(*claimed, Notice.attempts == attempts - 1).values(**values))
                log.warning("digest %s not delivered (%s): %d notice(s)", message_id, error, len(rows))
            conn.execute(insert(Delivery).values(
                run_id=self.run_id, recipient=recipient, digest_key=key, message_id=message_id, notices=len(rows),
                outcome=outcome, code=error.code if error else None, error=str(error)[:200] if error else None,
                attempted_at=now,
            ))
