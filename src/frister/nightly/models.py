"""The nightly run record: one row per ``frister run``, with counts that add up.

``status`` is ``running`` while a run works (a row left ``running`` by a killed run is
marked ``interrupted`` by the next run, which holds the lock), then one of:

* ``succeeded``: evaluated, notices derived, and nothing left undelivered;
* ``degraded``: evaluated and derived, but notices could not all be delivered: some
  failed this run (``retrying``, ``dead``) or still wait from earlier (``waiting``);
* ``failed``: ``error`` holds the error's class and message, never case data.

``succeeded`` and ``degraded`` are both **completed** nights (:data:`COMPLETED`): the
deadlines were evaluated and the notices created.

Counts: ``notices_due = notices_created + notices_existing``;
``attempted = sent + retrying + dead`` (notices in an e-mail tried this run, each by
where it stands at the end); ``retried`` is how many of the attempted had been tried
before this run; ``waiting`` is how many notices in the whole outbox were waiting
(pending, sending or uncertain) when the run ended.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from frister.db.base import Base, Day, Instant

COUNT_FIELDS = (
    "cases", "obligations", "notices_due", "notices_created", "notices_existing", "notices_cancelled",
    "attempted", "sent", "retried", "retrying", "dead", "waiting", "emails_sent", "emails_failed",
)
COMPLETED = ("succeeded", "degraded")


class NightlyRun(Base):
    __tablename__ = "nightly_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    as_of: Mapped[Day]
    started_at: Mapped[Instant]
    finished_at: Mapped[Instant | None]
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | degraded | failed | interrupted
    transport: Mapped[str] = mapped_column(String(16))
    evaluation_run_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_runs.id"))
    cases: Mapped[int] = mapped_column(Integer, default=0)
    obligations: Mapped[int] = mapped_column(Integer, default=0)
    notices_due: Mapped[int] = mapped_column(Integer, default=0)
    notices_created: Mapped[int] = mapped_column(Integer, default=0)
    notices_existing: Mapped[int] = mapped_column(Integer, default=0)
    notices_cancelled: Mapped[int] = mapped_column(Integer, default=0)
    attempted: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    retried: Mapped[int] = mapped_column(Integer, default=0)
    retrying: Mapped[int] = mapped_column(Integer, default=0)
    dead: Mapped[int] = mapped_column(Integer, default=0)
    waiting: Mapped[int] = mapped_column(Integer, default=0)  # the outbox's waiting notices at the end
    emails_sent: Mapped[int] = mapped_column(Integer, default=0)
    emails_failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
