"""Numbers and dates inside messages follow the reader's language (labnet.i18n ``number``
and ``localtime``); English keeps the output it always had."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from labnet.i18n import _l, force_locale, lazy_number, localtime, number
from labnet.services.common.text import text_problem

AT = datetime(2026, 3, 3, 8, 5, tzinfo=UTC)  # a Tuesday; 09:05 in Berlin


def test_numbers_in_english_are_written_as_before(app):
    with app.test_request_context("/"):
        assert number(10_000) == "10,000"
        assert number(Decimal("10000")) == "10,000"
        assert number(2.5) == "2.5"
        assert number(1000.0) == "1000"  # as ``:g`` wrote the floats
        assert text_problem("x" * 5001, label="The note", limit=5000) \
            == "The note is too long: at most 5,000 characters."


def test_numbers_follow_the_language(app):
    with app.test_request_context("/"):
        with force_locale("de"):
            assert number(10_000) == "10.000"
            assert number(2.5) == "2,5"
            assert "5.000" in text_problem("x" * 5001, label="Die Notiz", limit=5000)
        with force_locale("fr"):
            assert number(10_000) == "10\u202f000"
        with force_locale("hu"):
            assert number(1.5) == "1,5"


def test_a_lazy_number_is_written_when_the_text_is_read(app):
    text = _l("The message is too long: at most %(num)s characters.", num=lazy_number(5000))
    with app.test_request_context("/"):
        assert "5,000" in str(text)
        with force_locale("de"):
            assert "5.000" in str(text)


def test_dates_with_day_and_month_names_follow_the_language(app):
    with app.test_request_context("/"):
        assert localtime(AT, "Europe/Berlin", "%a %d %B %Y, %H:%M") == "Tue 03 March 2026, 09:05"
        assert localtime(date(2026, 3, 3), None, "%d %b %Y") == "03 Mar 2026"
        assert localtime(AT, "Europe/Berlin") == "2026-03-03 09:05"
        with force_locale("de"):
            assert localtime(AT, "Europe/Berlin", "%a %d %B %Y, %H:%M") \
                == "Di., 3. März 2026, 09:05"
            assert localtime(AT, "Europe/Berlin", "%d %B %Y") == "3. März 2026"
            assert localtime(date(2026, 3, 3), None, "%d %b %Y") == "3. März 2026"
            assert localtime(AT, "Europe/Berlin") == "03.03.2026, 09:05"
        with force_locale("fr"):
            assert "mars" in localtime(AT, "Europe/Paris", "%a %d %b %Y %H:%M")
        with force_locale("pl"):
            assert "marca" in localtime(AT, "Europe/Warsaw", "%d %B %Y")


def test_templates_ask_localtime_for_every_named_day_or_month():
    # One helper for dates (labnet.i18n.localtime, registered in labnet.templating): no
    # template formats day or month names with strftime, which writes them in English.
    from tests.i18n.marking import template_paths

    for path in template_paths():
        text = path.read_text(encoding="utf-8")
        for fmt in ("strftime('%a", "strftime('%d %b", "strftime('%d %B", "strftime('%B",
                    "local_label"):
            assert fmt not in text, f"{path}: {fmt}"


def test_a_lazy_plural_is_read_in_the_language_current_then(app):
    from markupsafe import escape

    from labnet.i18n import _ln

    subject = _ln("LabNet daily digest: %(num)d message",
                  "LabNet daily digest: %(num)d messages", 3)
    with app.test_request_context("/"):
        assert str(subject) == "LabNet daily digest: 3 messages"
        with force_locale("de"):
            assert str(subject) != "LabNet daily digest: 3 messages"
            assert "3" in str(subject)
    ampersand = _ln("%(num)d R&D lab", "%(num)d R&D labs", 2)
    with app.test_request_context("/"):
        assert escape(ampersand) == "2 R&amp;D labs"  # escaped like _l(), once


def test_lazy_plurals_are_extracted():
    from tests.i18n.test_catalogues import marked_texts

    texts = marked_texts()
    assert "Accreditation ends in %(num)d day: %(lab)s" in texts
    assert "LabNet daily digest: %(num)d messages" in texts
    assert "outbox.py" in texts["LabNet daily digest: %(num)d message"]


def test_a_free_windows_start_names_day_and_month_in_the_language(app):
    from datetime import time

    from labnet.services.booking.availability import FreeWindow

    hourly = FreeWindow(1, 1, "Furnace", "Europe/Berlin", "hour", 1, AT, AT,
                        datetime(2026, 3, 3, 14, 5, tzinfo=UTC))
    daily = FreeWindow(1, 1, "Furnace", "Europe/Berlin", "day", 1,
                       datetime(2026, 3, 2, 6, 30, tzinfo=UTC), AT,
                       datetime(2026, 3, 3, 18, 30, tzinfo=UTC), opens=time(7, 30))
    with app.test_request_context("/"):
        assert hourly.label == "Tue 3 Mar 09:05, 6 h"
        assert daily.label == "Mon 2 Mar 07:30, 1.5 days"
        with force_locale("de"):
            assert hourly.label == "Di., 3. März, 09:05, 6 h"
            assert daily.label.startswith("Mo., 2. März, 07:30, 1,5 ")
