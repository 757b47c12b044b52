"""A night looks up the notices only of the stages that fell due since the last night
(or of obligations that changed), and creates exactly what looking up every due stage
would: over nights with imports, downtime, a second run on the same day, a new
leader's address and a new stage. Real SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import insert, select

from frister.demo.generate import generate_cases
from frister.escalation import derive
from frister.escalation.config import Stage, load_ladder
from frister.escalation.models import Notice
from frister.evaluation.service import evaluate_and_store
from frister.nightly.models import COUNT_FIELDS, NightlyRun
from frister.notify.transport import ConsoleTransport

from tests.nightly.conftest import AS_OF, at, load_cases, run
from tests.nightly.test_bounded_ladder import BOUNDED

START = dt.date(2026, 3, 2)
CREATED = (Notice.case_id, Notice.rule, Notice.subject, Notice.period, Notice.seq, Notice.stage, Notice.repeat,
           Notice.ordinal, Notice.role, Notice.recipient, Notice.fire_on)


@pytest.fixture
def looked_up(monkeypatch) -> list[int]:
    """Per call of ``_created_so_far``, how many cases it read the notices of."""
    calls: list[int] = []
    original = derive._created_so_far

    def spy(conn, case_ids):
        calls.append(len(set(case_ids)))
        return original(conn, case_ids)

    monkeypatch.setattr(derive, "_created_so_far", spy)
    return calls


def looking_up_every_stage(engine, rules, config, as_of: dt.date) -> tuple[tuple, list]:
    """What the night as of ``as_of`` would count and create if it looked up every due
    stage: evaluated and derived in a transaction that is rolled back, with the last
    night's obligations (``changed_after``) but not its date (a night as of an earlier
    date than the last one settles nothing)."""
    now = at(as_of)
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            run_id = conn.execute(insert(NightlyRun).values(
                as_of=as_of, started_at=now, status="running", transport="console",
                **{name: 0 for name in COUNT_FIELDS}).returning(NightlyRun.id)).scalar_one()
            evaluate_and_store(conn, rules, as_of, kind="nightly", now=lambda: now, incremental=True)
            last = derive.last_derived_night(conn)
            counts = derive.derive_notices(conn, config.ladder, config.recipients, as_of, run_id, lambda: now,
                                           derive.bases_of(rules),
                                           since=last and dataclasses.replace(last, as_of=dt.date.max))
            created = conn.execute(select(*CREATED).where(Notice.created_run_id == run_id).order_by(*CREATED)).all()
        finally:
            transaction.rollback()
    return (counts.due, counts.created, counts.existing), created


def night(engine, rules, config, as_of: dt.date) -> tuple[tuple, list]:
    report = run(engine, rules, config, ConsoleTransport(quiet=True), as_of=as_of)
    c = report.counts
    with engine.connect() as conn:
        created = conn.execute(select(*CREATED).where(Notice.created_run_id == report.run_id)
                               .order_by(*CREATED)).all()
    return (c["notices_due"], c["notices_created"], c["notices_existing"]), created


@pytest.mark.parametrize("bounded", [False, True], ids=["repeats-without-end", "bounded-with-catch-up"])
def test_each_night_creates_what_looking_up_every_due_stage_would(engine, rules, config, tmp_path, bounded, looked_up):
    if bounded:
        path = tmp_path / "bounded.yaml"
        path.write_text(BOUNDED, encoding="utf-8")
        config = dataclasses.replace(config, ladder=load_ladder(path, [r.id for r in rules]))
    load_cases(engine, tmp_path, list(generate_cases(START, seed=7, cases=150, years=2)), as_of=START)
    changed = list(generate_cases(START - dt.timedelta(days=40), seed=7, cases=150, years=2))[:20]
    new_leader = dataclasses.replace(config.recipients, unit_leaders={**config.recipients.unit_leaders,
                                                                      "tiltak": "tiltak@barnevern.kommune.example"})
    day_before = Stage("last_call", -1, ("avdelingsleder", "barnevernsjef"))
    schedule = [(0, None), (1, None), (1, None), (2, "import"), (3, None), (4, "leader"), (5, None), (6, "stage"),
                (7, None), (13, None), (14, "import"), (15, None), (22, None)]
    lookups = []
    for offset, change in schedule:
        day = START + dt.timedelta(days=offset)
        if change == "import":
            load_cases(engine, tmp_path, changed, as_of=day, name=f"changed-{offset}.jsonl")
            changed = [dict(r, caseworker="ks99") for r in changed[:10]]
        elif change == "leader":
            config = dataclasses.replace(config, recipients=new_leader)
        elif change == "stage":
            config = dataclasses.replace(config, ladder=dataclasses.replace(
                config.ladder, default=config.ladder.default + (day_before,)))
        expected = looking_up_every_stage(engine, rules, config, day)
        reference = sum(looked_up)
        looked_up.clear()
        got = night(engine, rules, config, day)
        lookups.append((reference, sum(looked_up)))
        looked_up.clear()
        assert got == expected, (day, change)
    # The nights looked up fewer cases than every due stage's, except the first (nothing
    # derived before it) and those after the new address and the new stage.
    fewer = [ours < every for every, ours in lookups]
    assert fewer[0] is False and fewer[5] is False and fewer[7] is False
    assert sum(fewer) >= 6, lookups


def test_a_second_night_counts_the_stages_due_by_the_first_as_existing_without_reading_them(municipality, rules,
                                                                                            config, looked_up):
    first = run(municipality, rules, config, ConsoleTransport(quiet=True))
    looked_up.clear()
    second = run(municipality, rules, config, ConsoleTransport(quiet=True), as_of=AS_OF + dt.timedelta(days=1))
    # Nothing changed and nothing fell due on 26.11 (BV-1's warning came on 24.11, its
    # reminder on 13.11, BV-3's reminder on 17.11, BV-2's breach repeat on 23.11).
    assert looked_up == []
    assert (second.counts["notices_created"], second.counts["notices_existing"]) \
        == (0, first.counts["notices_created"])
    with municipality.connect() as conn:
        fingerprints = conn.execute(select(NightlyRun.config_fingerprint).order_by(NightlyRun.id)).scalars().all()
    assert fingerprints == [derive.config_fingerprint(config.ladder, config.recipients)] * 2
    assert len(fingerprints[0]) == 64
