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
3. **Record** each part right after its send (own transaction), and one ``deliveries``
   row for the attempt:

   * accepted: ``sent`` (with the time);
   * refused for now, or not reached (4xx, connection refused): back to ``pending``
     with capped exponential backoff; nothing was delivered, so a later claim may put
     those notices into a new digest (a new Message-ID);
   * **uncertain** (the whole message went out, the server's reply never came): the
     part stays claimed as it is, status ``uncertain``, with the same backoff. It is
     resent later as that part, same rows and same Message-ID, never in a new digest,
     and the derivation never cancels it (the recipient may have it);
   * refused for good (5xx), or the attempts used up: ``dead`` (an uncertain part's
     attempts are counted for the part, so its rows stay together).

**Within the night**: with ``retry_until`` (the end of the night's retry window, from
``delivery.retry_until``), the outbox does not stop after one pass. While notices wait
whose backoff ends before that moment, it closes the connection, sleeps until the first
of them is due and sends again (recovered claims, uncertain parts, then what is ready).

A run killed after 1 leaves the parts not yet recorded in ``sending``. The next run
(it holds the run lock, so no sender is alive) first **recovers** them: it resends each
such part with its stored Message-ID and part number; parts already recorded are not
touched. Killed between the server's acceptance of a part and its record, that one part
is sent twice with the same Message-ID (mail clients collapse it); killed anywhere
else, every part exactly once.

Why parts and not one e-mail: on the first night at national scale a barnevernsjef can
have 100,000 lines; one e-mail of that size cannot be read, may be refused by the mail
server, and would have to be held in memory whole. Parts of a few hundred lines, the
most urgent first, are readable one at a time, and each is claimed, sent and recorded
on its own, so memory is bounded by the part size, not by the recipient's backlog.

Counts (:class:`SendCounts`) are per notice, as things stand at the end: a notice that
failed at 02:00 and went out at 02:10 is ``sent`` once, not also ``retrying``.

``fail_at(step)`` is called after each step (``claimed``, then ``sent`` and ``recorded``
for every part) to let tests simulate a crash there by raising.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from sqlalchemy import Engine, case, func, insert, select, update

from frister.clock import utc
from frister.db.dialect import after_bulk_write
from frister.escalation.config import Ladder
from frister.organisation import Organisation
from frister.escalation.models import WAITING, Delivery, Notice
from frister.notify.digest import DigestRenderer, NoticeLine
from frister.notify.transport import SendError, Transport

log = logging.getLogger("frister.escalation")

FailAt = Callable[[str], None]
RETRYABLE = ("pending", "uncertain")
MAINTAIN_FROM = 10_000  # notices sent in one run from which the outbox is maintained afterwards


class _ClaimLost(Exception):
    pass


def _no_fail(step: str) -> None:
    return None


@dataclass
class SendCounts:
    """Notices tried in this run, by where each stands now (``attempted = sent +
    retrying + dead``; ``retried``: of those, tried in an earlier run and not requeued
    since, which starts a notice afresh), and e-mails."""

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
                 renderer: DigestRenderer, organisation: Organisation, ladder: Ladder, sender: str,
                 now: Callable[[], dt.datetime], fail_at: FailAt | None = None,
                 retry_until: dt.datetime | None = None, sleep: Callable[[float], None] = time.sleep,
                 progress: Callable[[SendCounts], None] | None = None):
        self.engine = engine
        self.run_id = run_id
        self.as_of = as_of
        self.transport = transport
        self.renderer = renderer
        self.organisation = organisation
        self.ladder = ladder
        self.sender = sender
        self.now = now
        self.fail_at = fail_at or _no_fail
        self.retry_until = retry_until
        self.sleep = sleep
        self.progress = progress or (lambda counts: None)
        self.counts = SendCounts()
        # The notices this run tried and has not delivered (yet): id -> 'retrying' | 'dead'.
        self._failed: dict[int, str] = {}

    # --- the whole send phase ------------------------------------------------------

    def send_all(self) -> SendCounts:
        """Send what is due now; then, until ``retry_until``, what failed for now, as
        soon as its backoff ends. Returns the counts."""
        self.check_recipients()
        self._send_pass()
        while (wake := self._next_retry()) is not None:
            self.transport.close()  # no connection left idle while waiting
            self.progress(self.counts)
            log.info("%d notice(s) waiting: next attempt at %s UTC (retrying until %s UTC)",
                     self.counts.retrying, wake.strftime("%H:%M"), self.retry_until.strftime("%H:%M"))
            self.sleep(max(1.0, (wake - self.now()).total_seconds()))
            self._send_pass()
        if self.counts.attempted >= MAINTAIN_FROM:
            # Each notice sent left its 'pending' and 'sending' row versions behind.
            after_bulk_write(self.engine, [Notice.__tablename__])
        return self.counts

    def _send_pass(self) -> None:
        """One pass over the outbox: parts left claimed by a killed run, uncertain parts
        whose backoff has ended, then every recipient's ready notices."""
        for key, recipient, message_id, part, parts in self._abandoned_claims():
            log.info("resending digest %s left unfinished by an earlier run", message_id)
            self._send_claimed(key, recipient, message_id, part, parts)
        for key, recipient, message_id, part, parts in self._uncertain_due():
            if self._reclaim(key):
                log.info("resending digest %s, whose delivery is uncertain, as it was", message_id)
                self._send_claimed(key, recipient, message_id, part, parts)
        for recipient in self._ready_recipients():
            claimed = self.claim(recipient)
            if claimed:
                self.fail_at("claimed")
                for key, message_id, part, parts in claimed:
                    self._send_claimed(key, recipient, message_id, part, parts)

    def _next_retry(self) -> dt.datetime | None:
        """When the first waiting notice's backoff ends, if that is before
        ``retry_until``; None when there is nothing to wait for tonight."""
        if self.retry_until is None:
            return None
        with self.engine.connect() as conn:
            first = conn.execute(select(func.min(Notice.next_attempt_at))
                                 .where(Notice.status.in_(RETRYABLE), Notice.next_attempt_at.is_not(None))).scalar()
        if first is None or utc(first) > self.retry_until:
            return None
        return utc(first)

    def check_recipients(self) -> None:
        """Refuse (ConfigError) before anything is sent if any address waiting in the
        outbox is outside the allowed domains (the organisation file may have changed)."""
        with self.engine.connect() as conn:
            waiting = conn.execute(
                select(Notice.recipient).where(Notice.status.in_(WAITING)).distinct()
            ).scalars().all()
        for address in waiting:
            self.organisation.check(address)

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

    def _uncertain_due(self) -> list[tuple[str, str, str, int | None, int | None]]:
        """The uncertain parts whose backoff has ended (one row per part)."""
        now = self.now()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Notice.digest_key, Notice.recipient, Notice.message_id, Notice.digest_part,
                       Notice.digest_parts)
                .where(Notice.status == "uncertain",
                       Notice.next_attempt_at.is_(None) | (Notice.next_attempt_at <= now)).distinct()
                .order_by(Notice.recipient, Notice.digest_part, Notice.digest_key)
            ).all()
        return [tuple(r) for r in rows]

    def _reclaim(self, key: str) -> bool:
        """Claim an uncertain part again, as it is (its rows, part number and
        Message-ID). False when another sender got there."""
        with self.engine.begin() as conn:
            return conn.execute(update(Notice).where(Notice.digest_key == key, Notice.status == "uncertain")
                                .values(status="sending", claimed_run_id=self.run_id)).rowcount > 0

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
                       Notice.due_on, Notice.unit, Notice.caseworker, Notice.basis, Notice.duty, Notice.repeat,
                       Notice.subject, Notice.seq)
                .where(Notice.digest_key == key)
            ).all()
        rows = [r for r in rows if r.status == "sending" and r.recipient == recipient]
        if not rows:
            return
        retried = sum(1 for r in rows if r.id not in self._failed
                      and (r.attempts > 0 or r.claimed_run_id != self.run_id))
        lines = [NoticeLine(r.case_id, r.rule, r.period, r.stage, r.ordinal - 1, r.due_on, r.unit, r.caseworker,
                            r.basis, self.ladder.is_last_repeat(r.rule, r.stage, r.repeat), r.duty, r.subject, r.seq)
                 for r in rows]
        role = self.organisation.role_of(recipient)
        self.organisation.check(recipient)
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
        self.counts.retried += retried
        self.fail_at("recorded")

    def _settle(self, ids: Sequence[int], outcome: str) -> None:
        """Count ``ids`` as ``outcome`` (sent, retrying or dead) in place of what they
        were earlier in this run, so each notice counts once, as it stands."""
        c = self.counts
        for i in ids:
            before = self._failed.pop(i, None)
            if before is None:
                c.attempted += 1
            else:
                setattr(c, before, getattr(c, before) - 1)
            if outcome != "sent":
                self._failed[i] = outcome
            setattr(c, outcome, getattr(c, outcome) + 1)

    def _record(self, key: str, recipient: str, message_id: str, rows, error: SendError | None) -> None:
        """Record the send of one claimed part (``rows``, found by its key) in one transaction."""
        now = self.now()
        with self.engine.begin() as conn:
            claimed = (Notice.id.in_([r.id for r in rows]), Notice.status == "sending")
            if error is None:
                outcome = "sent"
                conn.execute(update(Notice).where(*claimed)
                             .values(status="sent", sent_at=now, attempts=Notice.attempts + 1, last_error=None))
                self._settle([r.id for r in rows], "sent")
                self.counts.emails_sent += 1
            else:
                self.counts.emails_failed += 1
                if error.uncertain:
                    outcome = "uncertain"
                    self._record_uncertain(conn, claimed, rows, error, now)
                else:
                    outcome = "permanent" if error.permanent else "transient"
                    self._record_failed(conn, claimed, rows, error, now)
                log.warning("digest %s not delivered (%s): %d notice(s)", message_id, error, len(rows))
            conn.execute(insert(Delivery).values(
                run_id=self.run_id, recipient=recipient, digest_key=key, message_id=message_id, notices=len(rows),
                outcome=outcome, code=error.code if error else None, error=str(error)[:200] if error else None,
                attempted_at=now,
            ))

    def _record_failed(self, conn, claimed, rows, error: SendError, now: dt.datetime) -> None:
        """Not delivered, for certain: back to ``pending`` with backoff, or ``dead``
        (a permanent refusal, or this notice's attempts used up)."""
        delivery = self.ladder.delivery
        by_attempts: dict[int, list[int]] = {}
        for r in rows:
            by_attempts.setdefault(r.attempts + 1, []).append(r.id)
        for attempts, ids in by_attempts.items():
            dead = error.permanent or attempts >= delivery.max_attempts
            values = {"attempts": attempts, "last_error": str(error)[:200]}
            if dead:
                values |= {"status": "dead", "next_attempt_at": None}
            else:
                values |= {"status": "pending",
                           "next_attempt_at": now + dt.timedelta(minutes=delivery.backoff(attempts))}
            conn.execute(update(Notice).where(*claimed, Notice.attempts == attempts - 1).values(**values))
            self._settle(ids, "dead" if dead else "retrying")

    def _record_uncertain(self, conn, claimed, rows, error: SendError, now: dt.datetime) -> None:
        """Perhaps delivered: the part stays claimed as it is (key, Message-ID, part),
        ``uncertain`` with backoff, to be resent as it is; ``dead`` once the part's
        attempts (its most tried row's) are used up, saying it was possibly delivered."""
        delivery = self.ladder.delivery
        attempts = max(r.attempts for r in rows) + 1
        dead = attempts >= delivery.max_attempts
        values = {"attempts": Notice.attempts + 1}
        if dead:
            values |= {"status": "dead", "next_attempt_at": None,
                       "last_error": f"possibly delivered: {error}"[:200]}
        else:
            values |= {"status": "uncertain", "last_error": str(error)[:200],
                       "next_attempt_at": now + dt.timedelta(minutes=delivery.backoff(attempts))}
        conn.execute(update(Notice).where(*claimed).values(**values))
        self._settle([r.id for r in rows], "dead" if dead else "retrying")
