"""Sending the outbox: claim, send, record — so that every notice goes out exactly once.

Protocol, per recipient (one digest per recipient per run, in parts when it is long):

1. **Claim** (own transaction): the ready ``pending`` rows of the recipient are taken
   in the digest's order (most urgent stage first, then rule, due date, case) and cut
   into **parts** of at most ``delivery.max_lines_per_email`` lines: the ids are read in
   that order to name each part by its digest key (a hash of the recipient and the
   part's notice ids), then one conditional ``UPDATE … WHERE status = 'pending'``
   switches every row to ``sending``, numbering the rows in the same order with
   ``row_number()``. The row count must match what was read, or nothing is claimed
   (another sender got there: skip). The claim stores on every row the run, the part's
   digest key, the Message-ID derived from it, and ``digest_part`` of ``digest_parts``.
   All parts are claimed together, so the numbering ("del 2 av 7") is fixed before
   anything is sent.
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

from sqlalchemy import (Column, Engine, Integer, MetaData, String, Table, case, func, insert, select, text,
                        update)

from frister.db.engine import vacuum
from frister.escalation.config import Ladder, Recipients
from frister.escalation.models import Delivery, Notice
from frister.notify.digest import DigestRenderer, NoticeLine
from frister.notify.transport import SendError, Transport

log = logging.getLogger("frister.escalation")

FailAt = Callable[[str], None]
ANALYZE_FROM = 10_000  # claims at least this large refresh PostgreSQL's statistics of the outbox


class _ClaimLost(Exception):
    pass


# The names of one claim's parts, joined by the claim's UPDATE: a temporary table that each
# claim empties, fills and drops (on SQLite it may be created just before the transaction
# begins, so a claim that failed may leave it behind: hence IF NOT EXISTS and the DELETE).
_PARTS = Table("frister_claim_parts", MetaData(), Column("part", Integer, primary_key=True),
               Column("digest_key", String(64)), Column("message_id", String(200)))


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
        self._analyzed_while_sending = False

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
        if self._analyzed_while_sending:
            # Those statistics were taken mid-send: kept, they would tell the next night
            # that most of the table is 'sending', and its searches of the outbox by
            # status ('pending', 'sending') would read every notice ever sent. And each
            # notice sent left its 'pending' and 'sending' versions behind, which those
            # searches step over until a VACUUM clears them (autovacuum may be off, or
            # late): at a million cases 760,000 of them, 0.1 s each search, every night.
            vacuum(self.engine, [Notice.__tablename__], analyze=True)
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
        ready = (Notice.recipient == recipient, *self._ready())
        order = self._digest_order()
        with self.engine.begin() as conn:
            # 1. Read the ids in the digest's order, one part at a time, and name each part
            #    by its ids; only one part's ids are in memory at a time.
            named: list[dict] = []
            total = last = 0
            rows = conn.execute(select(Notice.id).where(*ready).order_by(*order).execution_options(yield_per=size))
            for part, chunk in enumerate(rows.partitions(size), start=1):
                ids = [r.id for r in chunk]
                key = digest_key(recipient, ids)
                named.append({"part": part, "digest_key": key, "message_id": message_id_for(key, self.sender)})
                total += len(ids)
                last = max(last, *ids)
            if not total:
                return None
            # 2. One UPDATE numbers the same rows in the same order (the order ends with the
            #    id, so it is total), cuts them into the same parts and stores each part's
            #    name from a small temporary table: a set-based claim, whatever the backlog.
            conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_PARTS.name} "
                              "(part INTEGER PRIMARY KEY, digest_key VARCHAR(64), message_id VARCHAR(200))"))
            conn.execute(_PARTS.delete())
            conn.execute(_PARTS.insert(), named)
            ranked = select(Notice.id, ((func.row_number().over(order_by=order) - 1) // size + 1).label("part")) \
                .where(*ready, Notice.id <= last).subquery("ranked")
            # The row must still be pending when it is updated (another sender may have
            # taken it meanwhile). That is checked on an expression, which no index
            # serves, so that each row is found by its id: PostgreSQL's statistics do not
            # know the notices created tonight, and, sure that one row at most is
            # pending, it looked up every pending notice once per notice claimed (at a
            # million cases 1.3 million rows for 1,600 claimed; quadratic in the backlog).
            still_pending = func.lower(Notice.status) == "pending"
            done = conn.execute(
                update(Notice)
                .where(Notice.id == ranked.c.id, ranked.c.part == _PARTS.c.part, still_pending)
                .values(status="sending", claimed_run_id=self.run_id, digest_key=_PARTS.c.digest_key,
                        message_id=_PARTS.c.message_id, digest_part=ranked.c.part, digest_parts=len(named))
            ).rowcount
            conn.execute(text(f"DROP TABLE {_PARTS.name}"))
            if done != total:
                raise _ClaimLost(f"{done} of {total} notices")  # rolls the whole claim back
        if total >= ANALYZE_FROM and self.engine.dialect.name == "postgresql":
            # The claim switched most of the table to 'sending'; PostgreSQL's statistics
            # still say no row is, and it would then find each part through the status
            # index (every claimed row, once per part) instead of by its digest key.
            with self.engine.begin() as conn:
                conn.execute(text(f"ANALYZE {Notice.__tablename__}"))
            self._analyzed_while_sending = True
        return [(n["digest_key"], n["message_id"], n["part"], len(named)) for n in named]

    def _send_claimed(self, key: str, recipient: str, message_id: str, part: int | None = None,
                      parts: int | None = None) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Notice.id, Notice.attempts, Notice.claimed_run_id, Notice.role, Notice.case_id, Notice.rule,
                       Notice.period, Notice.stage, Notice.ordinal, Notice.due_on, Notice.unit, Notice.caseworker,
                       Notice.basis, Notice.repeat)
                .where(Notice.digest_key == key, Notice.status == "sending", Notice.recipient == recipient)
            ).all()
        if not rows:
            return
        retried = sum(1 for r in rows if r.attempts > 0 or r.claimed_run_id != self.run_id)
        lines = [NoticeLine(r.case_id, r.rule, r.period, r.stage, r.ordinal - 1, r.due_on, r.unit, r.caseworker,
                            r.basis, self.ladder.is_last_repeat(r.rule, r.stage, r.repeat)) for r in rows]
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
            claimed = (Notice.digest_key == key, Notice.status == "sending", Notice.recipient == recipient)
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
