"""Sending the outbox: claim, send, record — so that every notice goes out exactly once.

Protocol, per recipient (one digest e-mail per recipient per run):

1. **Claim** (own transaction): the ready ``pending`` rows of the recipient are switched
   to ``sending`` with a conditional ``UPDATE … WHERE status = 'pending'``; the row
   count must match, or nothing is claimed (another sender got there: skip). The claim
   stores the run, the digest key (a hash of the recipient and the notice ids) and the
   Message-ID derived from it.
2. **Send** the digest rendered from the claimed rows.
3. **Record** (own transaction): ``sent`` (with the time), or back to ``pending`` with
   capped exponential backoff on a transient failure, or ``dead`` on a permanent one
   (or when the attempts are used up); plus one ``deliveries`` row for the attempt.

A run killed after 1 leaves rows in ``sending``. The next run (it holds the run lock,
so no sender is alive) first **recovers** them: it resends each such digest with its
stored Message-ID. Killed between the server's acceptance and 3, the e-mail is sent
twice with the same Message-ID (mail clients collapse it); killed anywhere else,
exactly once.

``fail_at(step)`` is called after each step (``claimed``, ``sent``, ``recorded``) to let
tests simulate a crash there by raising.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Callable, Sequence

from sqlalchemy import Engine, insert, select, update

from frister.escalation.config import Ladder, Recipients
from frister.escalation.models import Delivery, Notice
from frister.notify.digest import DigestRenderer, NoticeLine
from frister.notify.transport import SendError, Transport

log = logging.getLogger("frister.escalation")

FailAt = Callable[[str], None]
CHUNK = 500


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
    text = recipient.lower() + ":" + ",".join(str(i) for i in sorted(notice_ids))
    return hashlib.sha256(text.encode()).hexdigest()


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
        for key, recipient, message_id in self._abandoned_claims():
            log.info("resending digest %s left unfinished by an earlier run", message_id)
            self._send_claimed(key, recipient, message_id)
        for recipient in self._ready_recipients():
            claim = self.claim(recipient)
            if claim is not None:
                self.fail_at("claimed")
                self._send_claimed(*claim)
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

    def _abandoned_claims(self) -> list[tuple[str, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Notice.digest_key, Notice.recipient, Notice.message_id)
                .where(Notice.status == "sending").distinct().order_by(Notice.recipient, Notice.digest_key)
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

    def claim(self, recipient: str) -> tuple[str, str, str] | None:
        """Claim every ready notice of ``recipient``; None when another sender won."""
        try:
            return self._claim(recipient)
        except _ClaimLost as lost:
            log.warning("claim lost for one recipient (%s): skipped", lost)
            return None

    def _claim(self, recipient: str) -> tuple[str, str, str] | None:
        with self.engine.begin() as conn:
            ids = list(conn.execute(
                select(Notice.id).where(Notice.recipient == recipient, *self._ready()).order_by(Notice.id)
            ).scalars())
            if not ids:
                return None
            key = digest_key(recipient, ids)
            message_id = message_id_for(key, self.sender)
            claimed = 0
            for i in range(0, len(ids), CHUNK):
                claimed += conn.execute(
                    update(Notice).where(Notice.id.in_(ids[i:i + CHUNK]), Notice.status == "pending")
                    .values(status="sending", claimed_run_id=self.run_id, digest_key=key, message_id=message_id)
                ).rowcount
            if claimed != len(ids):
                raise _ClaimLost(f"{claimed} of {len(ids)} notices")  # rolls the partial claim back
        return key, recipient, message_id

    def _send_claimed(self, key: str, recipient: str, message_id: str) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Notice.id, Notice.attempts, Notice.claimed_run_id, Notice.role, Notice.case_id, Notice.rule,
                       Notice.period, Notice.stage, Notice.repeat, Notice.due_on, Notice.unit, Notice.caseworker,
                       Notice.basis)
                .where(Notice.digest_key == key, Notice.status == "sending", Notice.recipient == recipient)
            ).all()
        if not rows:
            return
        ids = [r.id for r in rows]
        retried = sum(1 for r in rows if r.attempts > 0 or r.claimed_run_id != self.run_id)
        lines = [NoticeLine(r.case_id, r.rule, r.period, r.stage, r.repeat, r.due_on, r.unit, r.caseworker, r.basis)
                 for r in rows]
        role = self.recipients.role_of(recipient)
        self.recipients.check(recipient)
        message = self.renderer.render(lines, self.as_of, role, self.sender, recipient, message_id, self.now())
        error: SendError | None = None
        try:
            self.transport.send(message)
        except SendError as exc:
            error = exc
        else:
            self.fail_at("sent")
        self._record(key, recipient, message_id, ids, rows, error)
        self.counts.attempted += len(ids)
        self.counts.retried += retried
        self.fail_at("recorded")

    def _record(self, key: str, recipient: str, message_id: str, ids: list[int], rows, error: SendError | None) -> None:
        now = self.now()
        delivery = self.ladder.delivery
        with self.engine.begin() as conn:
            if error is None:
                outcome = "sent"
                for i in range(0, len(ids), CHUNK):
                    conn.execute(update(Notice).where(Notice.id.in_(ids[i:i + CHUNK]), Notice.status == "sending")
                                 .values(status="sent", sent_at=now, attempts=Notice.attempts + 1, last_error=None))
                self.counts.sent += len(ids)
                self.counts.emails_sent += 1
            else:
                outcome = "permanent" if error.permanent else "transient"
                self.counts.emails_failed += 1
                by_attempts: dict[int, list[int]] = {}
                for r in rows:
                    by_attempts.setdefault(r.attempts + 1, []).append(r.id)
                for attempts, group in by_attempts.items():
                    dead = error.permanent or attempts >= delivery.max_attempts
                    values = {"attempts": attempts, "last_error": str(error)[:200]}
                    if dead:
                        values |= {"status": "dead", "next_attempt_at": None}
                        self.counts.dead += len(group)
                    else:
                        wait = dt.timedelta(minutes=delivery.backoff(attempts))
                        values |= {"status": "pending", "next_attempt_at": now + wait}
                        self.counts.retrying += len(group)
                    for i in range(0, len(group), CHUNK):
                        conn.execute(update(Notice).where(Notice.id.in_(group[i:i + CHUNK]),
                                                          Notice.status == "sending").values(**values))
                log.warning("digest %s not delivered (%s): %d notice(s)", message_id, error, len(ids))
            conn.execute(insert(Delivery).values(
                run_id=self.run_id, recipient=recipient, digest_key=key, message_id=message_id, notices=len(ids),
                outcome=outcome, code=error.code if error else None, error=str(error)[:200] if error else None,
                attempted_at=now,
            ))
