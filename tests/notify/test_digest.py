"""Rendering a digest: order, counts, Norwegian wording, escaping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from frister.errors import ConfigError
from frister.notify.digest import DigestRenderer, NoticeLine, days_text, period_label

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2025, 11, 25)
URGENCY = {"breach": -1, "warning": 3, "reminder": 14}.get


def line(case_id, stage, rule="referral_review", due=dt.date(2025, 11, 27), period="", earlier=0):
    return NoticeLine(case_id, rule, period, stage, earlier, due, "mottak", "ks01", "barnevernsloven § 2-1")


def renderer():
    return DigestRenderer(ROOT / "templates", {"referral_review": "Gjennomgang av melding",
                                               "foster_home_followup_visits": "Oppfølgingsbesøk"}, URGENCY)


def render(lines):
    return renderer().render(lines, AS_OF, "avdelingsleder", "frister@kommune.example", "leder@kommune.example",
                             "<frister.x@kommune.example>", dt.datetime(2025, 11, 25, 1, tzinfo=dt.timezone.utc))


def test_the_most_urgent_stage_comes_first_and_counts_are_at_the_top():
    msg = render([line("BV-1", "reminder"), line("BV-2", "breach", due=dt.date(2025, 11, 1), earlier=3),
                  line("BV-3", "warning"), line("BV-4", "reminder")])
    body = msg.get_body(("plain",)).get_content()
    assert msg["Subject"] == "[frister] 1 fristbrudd, 1 varsel, 2 påminnelser per 25.11.2025"
    assert body.index("Totalt") < body.index("== Fristbrudd (1) ==") < body.index("== Varsel (1) ==") \
        < body.index("== Påminnelse (2) ==")
    assert "  - Sak BV-2: frist 01.11.2025, 24 dager over fristen. Enhet mottak, saksbehandler ks01; årsak mangler. " \
           "(Gjentatt varsel nr. 3.)" in body


def test_a_visit_period_is_named_in_norwegian():
    body = render([line("BV-1", "breach", rule="foster_home_followup_visits", due=dt.date(2025, 6, 30),
                        period="2025-H1")]).get_body(("plain",)).get_content()
    assert "  - Sak BV-1, 1. halvår 2025: frist 30.06.2025, 148 dager over fristen." in body


def test_the_html_part_escapes_what_it_shows():
    html = render([line("BV-<b>1</b>", "warning")]).get_body(("html",)).get_content()
    assert "BV-&lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html


@pytest.mark.parametrize("due, text", [
    (dt.date(2025, 11, 27), "2 dager igjen"), (dt.date(2025, 11, 26), "1 dag igjen"),
    (AS_OF, "fristen er i dag"), (dt.date(2025, 11, 24), "1 dag over fristen"),
    (dt.date(2025, 11, 1), "24 dager over fristen"),
])
def test_days_left_or_late_are_said_in_words(due, text):
    assert days_text(due, AS_OF) == text


def test_period_labels():
    assert (period_label("2025-Q3"), period_label("2025-H2"), period_label("x")) == \
        ("3. kvartal 2025", "2. halvår 2025", "x")


def test_missing_templates_are_a_config_error_before_any_run(tmp_path):
    with pytest.raises(ConfigError, match="e-mail template not found"):
        DigestRenderer(tmp_path, {})


def test_a_birth_linked_due_date_shows_the_month_and_no_day_count():
    r = DigestRenderer(ROOT / "templates", {"aftercare_assessment": "Vurdering av ettervern før 18 år"}, URGENCY,
                       birth_linked=frozenset({"aftercare_assessment"}))
    msg = r.render([line("BV-1", "breach", rule="aftercare_assessment", due=dt.date(2025, 11, 10)),
                    line("BV-2", "reminder", rule="aftercare_assessment", due=dt.date(2025, 12, 5))],
                   AS_OF, "barnevernsjef", "frister@kommune.example", "sjef@kommune.example",
                   "<frister.y@kommune.example>", dt.datetime(2025, 11, 25, 1, tzinfo=dt.timezone.utc))
    body = msg.get_body(("plain",)).get_content()
    assert "  - Sak BV-1: frist november 2025, over fristen. Enhet mottak, saksbehandler ks01; årsak mangler." in body
    assert "  - Sak BV-2: frist desember 2025, ikke forfalt ennå." in body
    assert "10.11.2025" not in body and "05.12.2025" not in body and "dager" not in body


def test_a_line_break_from_the_data_is_shown_as_an_escape_not_as_a_new_line():
    injected = NoticeLine("BV-1\r\nX-Header: 1", "referral_review", "", "warning", 0, dt.date(2025, 11, 27),
                          "mottak\nBcc: evil@attacker.example", "ks01\u2028Subject: pwned", "barnevernsloven § 2-1")
    msg = render([injected])
    text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    assert "  - Sak BV-1\\r\\nX-Header: 1: frist 27.11.2025, 2 dager igjen. Enhet mottak\\nBcc: evil@attacker.example, " \
           "saksbehandler ks01\\u2028Subject: pwned; årsak ikke vurdert." in text
    for body in (text, html):
        assert not [x for x in body.splitlines() if x.startswith(("Bcc:", "Subject:", "X-Header:"))]
        assert "\u2028" not in body


def test_a_warning_of_an_investigation_says_an_extension_must_be_decided_before_the_deadline():
    r = DigestRenderer(ROOT / "templates", {"investigation_deadline": "Frist for undersøkelse"}, URGENCY)
    warning = line("BV-1", "warning", rule="investigation_deadline", due=dt.date(2025, 11, 28))
    overdue = line("BV-2", "breach", rule="investigation_deadline", due=dt.date(2025, 11, 1))
    bodies = [r.render([x], AS_OF, "avdelingsleder", "f@kommune.example", "l@kommune.example", "<x@k.example>",
                       dt.datetime(2025, 11, 25, 1, tzinfo=dt.timezone.utc)).get_body(("plain",)).get_content()
              for x in (warning, overdue)]
    assert "Forlengelse av undersøkelsen må være besluttet før fristen; en forlengelse\n" \
           "besluttet etter fristen redder den ikke." in bodies[0]
    assert "Forlengelse" not in bodies[1]


def test_it_lists_at_most_the_cap_the_most_urgent_first_and_says_how_many_more():
    lines = [line(f"BV-{i}", "reminder", due=dt.date(2025, 12, 1)) for i in range(10, 20)] + \
            [line("BV-1", "breach", due=dt.date(2025, 11, 1))]
    msg = renderer().render(lines, AS_OF, "barnevernsjef", "f@kommune.example", "s@kommune.example",
                            "<x@k.example>", dt.datetime(2025, 11, 25, 1, tzinfo=dt.timezone.utc), shown=3)
    body = msg.get_body(("plain",)).get_content()
    assert [x.split(":")[0] for x in body.splitlines() if x.startswith("  - Sak ")] == \
        ["  - Sak BV-1", "  - Sak BV-10", "  - Sak BV-11"]
    assert "Og 8 til som ikke er listet her (3 av 11 vist, de mest\nhastende først)" in body
    assert "  Påminnelse      10" in body and "  Totalt          11" in body  # the counts hold every notice
    assert "  mottak, Gjennomgang av melding: 1 / 1 / 10" in body


def test_a_deadline_is_one_line_at_its_most_urgent_stage():
    msg = render([line("BV-1", "reminder"), line("BV-1", "warning"), line("BV-2", "reminder")])
    body = msg.get_body(("plain",)).get_content()
    assert [x.split(":")[0] for x in body.splitlines() if x.startswith("  - Sak ")] == ["  - Sak BV-1", "  - Sak BV-2"]
    assert "== Varsel (1) ==" in body and "== Påminnelse (1) ==" in body
    assert "1 av de 3 varslene gjaldt en frist som alt står i oversikten" in body


def test_with_the_public_base_url_each_line_links_to_its_deadline_page_by_key_only():
    linked = DigestRenderer(ROOT / "templates", {"foster_home_followup_visits": "Oppfølgingsbesøk"}, URGENCY,
                            base_url="https://frister.kommune.example/")
    visit = NoticeLine("BV 7", "foster_home_followup_visits", "2025-H2", "warning", 0, dt.date(2025, 12, 31),
                       "omsorg", "ks30", "barnevernsloven § 9-2", subject="F1", seq=1)
    msg = linked.render([visit], AS_OF, "avdelingsleder", "frister@kommune.example", "leder@kommune.example",
                        "<frister.y@kommune.example>", dt.datetime(2025, 11, 25, 1, tzinfo=dt.timezone.utc))
    url = "https://frister.kommune.example/frist?sak=BV+7&regel=foster_home_followup_visits&gjelder=F1&periode=2025-H2"
    assert f"\n    {url}\n" in msg.get_body(("plain",)).get_content()
    assert f'<a href="{url.replace("&", "&amp;")}">BV 7</a>' in msg.get_body(("html",)).get_content()
    assert "https://" not in render([line("BV-1", "warning")]).get_body(("plain",)).get_content()
