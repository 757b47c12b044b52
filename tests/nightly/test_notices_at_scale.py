"""The first night at scale, in miniature: derivation in small chunks, long digests in
parts, a crash between parts, and how a repeated notice is numbered. Real SQLite and
PostgreSQL, a real SMTP server on loopback; the chunk and part sizes are made tiny so
that a handful of cases exercises every boundary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter

import pytest
from sqlalchemy import select

from frister.escalation import derive
from frister.escalation.models import Delivery, Notice
from frister.nightly.models import NightlyRun
from frister.notify.transport import ConsoleTransport

from tests.nightly.conftest import AS_OF, CHIEF, accounted, all_lines, case_records, load_cases, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

OVERDUE = 7  # investigations overdue as of AS_OF: breach notices to the chief


class SimulatedCrash(Exception):
    pass


def overdue_investigations(n: int) -> list[dict]:
    """``n`` cases like BV-2 of the conftest: an investigation overdue since 08.11.2025."""
    return [
        {"case_id": f"BV-9{i:03d}", "unit": "undersokelse", "caseworker": f"ks{i:02d}",
         "child": {"birth_date": "2012-01-01"},
         "referrals": [{"id": "M1", "received_on": "2025-08-01", "concluded_on": "2025-08-05",
                        "conclusion": "investigate", "feedback_sent_on": "2025-08-10"}],
         "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-08-05"}]}
        for i in range(n)
    ]


@pytest.fixture
def crowded(engine, tmp_path):
    """The conftest's three cases and ``OVERDUE`` more with overdue investigations."""
    load_cases(engine, tmp_path, case_records() + overdue_investigations(OVERDUE))
    return engine


def with_lines_per_email(config, n: int):
    ladder = dataclasses.replace(config.ladder,
                                 delivery=dataclasses.replace(config.ladder.delivery, max_lines_per_email=n))
    return dataclasses.replace(config, ladder=ladder)


def notice_keys(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(Notice.case_id, Notice.rule, Notice.stage, Notice.role, Notice.status)
                            .order_by(Notice.case_id, Notice.rule, Notice.stage, Notice.role)).all()


def part_of(message) -> tuple[int, int] | None:
    m = re.search(r"\(del (\d+) av (\d+)\)$", message["Subject"])
    return (int(m.group(1)), int(m.group(2))) if m else None


@pytest.fixture
def chunk_sizes(monkeypatch):
    """Derivation with chunks of one obligation; records the size of every chunk read."""
    sizes: list[int] = []
    original = derive.obligation_chunks

    def spy(*args):
        for chunk in original(*args):
            sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr(derive, "CHUNK", 1)
    monkeypatch.setattr(derive, "obligation_chunks", spy)
    return sizes


def test_it_sends_one_notice_per_deadline(crowded, rules, config, chunk_sizes):
    with SmtpCatcher() as server:
        report = run(crowded, rules, with_lines_per_email(config, 4), smtp(server.port))
        again = run(crowded, rules, with_lines_per_email(config, 4), smtp(server.port), hour=3)
    lines = all_lines(server.messages)
    # One line per deadline and recipient: BV-1's reminder to mottak@ is folded into its warning.
    assert len(lines) == len(set(lines)) == report.counts["notices_created"] - 1 == 4 + OVERDUE
    assert accounted(server.messages) == 5 + OVERDUE
    assert Counter(case for _, _, _, case in lines) == Counter(
        {"BV-1": 2, "BV-2": 1, "BV-3": 1, **{f"BV-9{i:03d}": 1 for i in range(OVERDUE)}})
    assert {status for *_, status in notice_keys(crowded)} == {"sent"}
    # Read one obligation at a time, and a second run the same day creates nothing.
    assert chunk_sizes and max(chunk_sizes) == 1
    assert (again.counts["notices_created"], again.counts["notices_existing"]) == (0, 5 + OVERDUE)


def test_derivation_reads_obligations_in_chunks_of_at_most_the_chunk_size_and_in_key_order(crowded, rules, config):
    from frister.evaluation.service import run_evaluation

    run_evaluation(crowded, rules, AS_OF)
    with crowded.connect() as conn:
        chunks = [list(c) for c in derive.obligation_chunks(conn, config.ladder, AS_OF, None, 3)]
    keys = [tuple(r[:5]) for c in chunks for r in c]
    assert [len(c) for c in chunks] == [3] * (len(keys) // 3) + ([len(keys) % 3] if len(keys) % 3 else [])
    # BV-1's referral review (its feedback, due 11.12, is beyond the horizon), BV-2, BV-3, the overdue ones.
    assert len(keys) == len(set(keys)) == 3 + OVERDUE
    assert keys == sorted(keys)


def test_a_long_digest_goes_out_in_parts_of_at_most_the_limit_the_most_urgent_first(crowded, rules, config):
    with SmtpCatcher() as server:
        report = run(crowded, rules, with_lines_per_email(config, 3), smtp(server.port))
    to_chief = sorted((m for m in server.messages if m["To"] == CHIEF), key=part_of)
    # The chief has 8 breaches (BV-2 and the overdue ones) and 1 warning (BV-1): 3 parts.
    assert [part_of(m) for m in to_chief] == [(1, 3), (2, 3), (3, 3)]
    per_part = [[stage for _, stage, _, _ in all_lines([m])] for m in to_chief]
    assert per_part == [["Fristbrudd"] * 3, ["Fristbrudd"] * 3, ["Fristbrudd"] * 2 + ["Varsel"]]
    assert to_chief[0]["Subject"] == "[frister] 3 fristbrudd per 25.11.2025 (del 1 av 3)"
    assert to_chief[2]["Subject"] == "[frister] 2 fristbrudd, 1 varsel per 25.11.2025 (del 3 av 3)"
    body = to_chief[1].get_body(("plain",)).get_content()
    assert "delt i 3 e-poster, de mest hastende\r\nfristene først. Dette er del 2 av 3" in body
    assert "Del 2 av 3." in to_chief[1].get_body(("html",)).get_content()
    # A short digest says nothing about parts.
    assert all(part_of(m) is None and "Dette er del" not in m.get_body(("plain",)).get_content()
               for m in server.messages if m["To"] != CHIEF)
    assert len({m["Message-ID"] for m in server.messages}) == len(server.messages)
    assert (report.counts["emails_sent"], report.counts["sent"]) == (5, 5 + OVERDUE)
    with crowded.connect() as conn:
        assert sorted(conn.execute(select(Delivery.notices).where(Delivery.recipient == CHIEF)).scalars()) \
            == [3, 3, 3]


# Digests go out by address: mottak@ (one part), omsorg@ (one part), then sjef@ (three
# parts). So the 3rd "recorded" is the chief's part 1, the 4th "sent" the chief's part 2.
@pytest.mark.parametrize("step, nth", [("recorded", 3), ("sent", 4)])
def test_a_crash_between_parts_then_rerun_sends_each_part_exactly_once(crowded, rules, config, step, nth):
    seen = Counter()

    def crash_after_first_part(current: str) -> None:
        seen[current] += 1
        if current == step and seen[current] == nth:
            raise SimulatedCrash(step)

    split = with_lines_per_email(config, 3)
    with SmtpCatcher() as server:
        with pytest.raises(SimulatedCrash):
            run(crowded, rules, split, smtp(server.port), fail_at=crash_after_first_part)
        before = len(server.messages)
        rerun = run(crowded, rules, split, smtp(server.port), hour=3)
        third = run(crowded, rules, split, smtp(server.port), hour=4)
    by_id = Counter(m["Message-ID"] for m in server.messages)
    chief_parts = Counter(part_of(m) for m in server.messages if m["To"] == CHIEF)
    if step == "recorded":
        # Part 1 was sent and recorded; parts 2 and 3 waited in 'sending' and went out once.
        assert set(by_id.values()) == {1} and before == 3
        assert chief_parts == {(1, 3): 1, (2, 3): 1, (3, 3): 1}
    else:
        # Killed between the server's acceptance of the chief's part 2 and its record: that
        # one part is sent again with the same Message-ID; every other part exactly once.
        assert sorted(by_id.values()) == [1] * (len(by_id) - 1) + [2]
        assert chief_parts == {(1, 3): 1, (2, 3): 2, (3, 3): 1}
    unique = {m["Message-ID"]: m for m in server.messages}.values()
    assert len(all_lines(unique)) == len(set(all_lines(unique))) == 4 + OVERDUE
    assert accounted(unique) == 5 + OVERDUE
    assert {status for *_, status in notice_keys(crowded)} == {"sent"}
    assert third.counts["attempted"] == 0 and rerun.counts["notices_created"] == 0


def test_the_first_notice_of_an_old_breach_reads_as_a_first_and_the_next_as_repeat_one(municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        first = len(server.messages)
        run(municipality, rules, config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=7))
        run(municipality, rules, config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=14))

    def bv2_line(message) -> str | None:
        body = message.get_body(("plain",)).get_content()
        return next((x for x in body.splitlines() if x.startswith("  - Sak BV-2:")), None)

    shown = [line for m in server.messages if m["To"] == CHIEF and (line := bv2_line(m))]
    assert first == 3 and len(shown) == 3
    assert shown[0].endswith("saksbehandler ks07; årsak mangler.")  # overdue since 08.11, but the first notice
    assert shown[1].endswith("(Gjentatt varsel nr. 1.)")
    assert shown[2].endswith("(Gjentatt varsel nr. 2.)")
    with municipality.connect() as conn:
        rows = conn.execute(select(Notice.repeat, Notice.ordinal)
                            .where(Notice.case_id == "BV-2").order_by(Notice.id)).all()
    assert rows == [(2, 1), (3, 2), (4, 3)]  # repeat (the key) counts from the due date


def test_notices_written_in_bulk_store_their_dates_and_time_as_every_other_row_does(crowded, rules, config):
    report = run(crowded, rules, config, ConsoleTransport(quiet=True))
    with crowded.connect() as conn:
        # As stored: the run's start and every notice's creation come from the same clock
        # reading (the tests' ``now``), so SQLite's text and PostgreSQL's value are equal.
        started = conn.exec_driver_sql(f"SELECT started_at FROM nightly_runs WHERE id = {report.run_id}").scalar()
        created = conn.exec_driver_sql("SELECT DISTINCT created_at FROM notices").scalars().all()
        run_start = conn.execute(select(NightlyRun.started_at).where(NightlyRun.id == report.run_id)).scalar()
        read = conn.execute(select(Notice.created_at, Notice.due_on, Notice.fire_on)
                            .where(Notice.case_id == "BV-9000")).one()
    assert created == [started]
    assert read.created_at == run_start
    assert read.due_on == dt.date(2025, 11, 8)  # overdue since 08.11.2025
    assert isinstance(read.fire_on, dt.date) and read.due_on < read.fire_on <= AS_OF


def test_a_claim_names_each_part_by_its_notices_in_the_digest_order(crowded, rules, config):
    from frister.escalation.outbox import digest_key, message_id_for

    claims = Counter()

    def stop_after_the_chiefs_claim(step: str) -> None:
        claims[step] += 1
        if step == "claimed" and claims[step] == 3:  # mottak@, omsorg@, then sjef@
            raise SimulatedCrash(step)

    with SmtpCatcher() as server:
        with pytest.raises(SimulatedCrash):
            run(crowded, rules, with_lines_per_email(config, 3), smtp(server.port), fail_at=stop_after_the_chiefs_claim)
    assert CHIEF not in {m["To"] for m in server.messages}
    with crowded.connect() as conn:
        claimed = conn.execute(select(Notice.id, Notice.stage, Notice.digest_part, Notice.digest_parts,
                                      Notice.digest_key, Notice.message_id)
                               .where(Notice.recipient == CHIEF, Notice.status == "sending")).all()
    parts: dict[int, list] = {}
    for row in claimed:
        parts.setdefault(row.digest_part, []).append(row)
    assert sorted(parts) == [1, 2, 3] and {r.digest_parts for r in claimed} == {3}
    assert [len(parts[p]) for p in (1, 2, 3)] == [3, 3, 2 + 1]
    # The warning (less urgent than a breach) is in the last part.
    assert [r.stage for r in parts[3] if r.stage != "breach"] == ["warning"]
    for rows in parts.values():
        key = digest_key(CHIEF, [r.id for r in rows])
        assert {r.digest_key for r in rows} == {key}
        assert {r.message_id for r in rows} == {message_id_for(key, config.sender)}


def test_a_notice_taken_by_another_sender_during_a_claim_rolls_the_whole_claim_back(crowded, rules, config,
                                                                                   monkeypatch):
    from sqlalchemy import update

    from frister.escalation import outbox

    split = with_lines_per_email(config, 3)
    with SmtpCatcher() as server:
        original = outbox.digest_key
        taken: list[int] = []

        def meanwhile(recipient, ids):
            # While the chief's ids are read, another sender cancels one of them.
            if recipient == CHIEF and not taken:
                taken.append(ids[-1])
                with crowded.begin() as other:
                    other.execute(update(Notice).where(Notice.id == ids[-1]).values(status="cancelled"))
            return original(recipient, ids)

        monkeypatch.setattr(outbox, "digest_key", meanwhile)
        report = run(crowded, rules, split, smtp(server.port), hour=3)
        monkeypatch.setattr(outbox, "digest_key", original)
        assert CHIEF not in {m["To"] for m in server.messages}
        with crowded.connect() as conn:
            chief = conn.execute(select(Notice.status, Notice.digest_key)
                                 .where(Notice.recipient == CHIEF, Notice.id != taken[0])).all()
        assert taken and set(chief) == {("pending", None)}  # nothing of the chief's was claimed
        assert report.counts["attempted"] == 3  # BV-1's reminder and warning to mottak@, BV-3's to omsorg@
        # The next run claims the rest of the chief's backlog (a new temporary table each claim).
        later = run(crowded, rules, split, smtp(server.port), hour=4)
    assert later.counts["attempted"] == len(chief) == 1 + OVERDUE
    assert sorted(part_of(m) for m in server.messages if m["To"] == CHIEF) == [(1, 3), (2, 3), (3, 3)]


def with_cap(config, n: int):
    ladder = dataclasses.replace(config.ladder,
                                 delivery=dataclasses.replace(config.ladder.delivery, lines_per_email=n))
    return dataclasses.replace(config, ladder=ladder)


@pytest.mark.parametrize("step", ("evaluated", "committed", "claimed", "sent", "recorded"))
def test_a_capped_digest_interrupted_at_any_step_then_rerun_accounts_for_every_notice_once(crowded, rules, config,
                                                                                         step):
    seen = Counter()

    def crash_once(current: str) -> None:
        seen[current] += 1
        if current == step and seen[current] == 1:
            raise SimulatedCrash(step)

    capped = with_cap(config, 3)
    with SmtpCatcher() as server:
        with pytest.raises(SimulatedCrash):
            run(crowded, rules, capped, smtp(server.port), fail_at=crash_once)
        run(crowded, rules, capped, smtp(server.port), hour=3)
        third = run(crowded, rules, capped, smtp(server.port), hour=4)
    unique = {m["Message-ID"]: m for m in server.messages}.values()
    # The chief's 9 deadlines (8 breaches, 1 warning) in one e-mail that lists 3 of them.
    chief = [m for m in unique if m["To"] == CHIEF]
    assert len(chief) == 1 and len(all_lines(chief)) == 3 and accounted(chief) == 1 + 1 + OVERDUE
    assert accounted(unique) == 5 + OVERDUE
    assert {status for *_, status in notice_keys(crowded)} == {"sent"}
    assert len(server.messages) == len(unique) + (1 if step == "sent" else 0)  # the one e-mail in the window
    assert third.counts["attempted"] == 0 and third.counts["notices_created"] == 0
