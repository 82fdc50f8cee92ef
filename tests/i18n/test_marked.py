"""Every text a person reads is marked for translation (tests/i18n/marking.py says how it
is found). One test per file, so a failure names the file and its lines."""

from __future__ import annotations

import pytest

from tests.i18n.marking import (
    ROOT,
    python_findings,
    python_paths,
    template_findings,
    template_paths,
)


@pytest.mark.parametrize("path", template_paths(), ids=lambda p: str(p.relative_to(ROOT)))
def test_template_texts_are_marked(path):
    findings = template_findings(path)
    assert not findings, "not marked for translation:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize("path", python_paths(), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_messages_are_marked(path):
    findings = python_findings(path)
    assert not findings, "not marked for translation:\n" + "\n".join(map(str, findings))


def test_the_finder_finds_what_is_not_marked(tmp_path, monkeypatch):
    # The finder itself: an unmarked text, attribute and constant are found; marked ones,
    # names and code are not.
    import tests.i18n.marking as marking

    monkeypatch.setattr(marking, "ROOT", tmp_path)
    page = tmp_path / "page.html"
    page.write_text(
        "<h1>{{ _('Booked') }}</h1><p title=\"Open the lab\">{{ lab.name }}</p>\n"
        "<p>Nothing here yet.</p>{{ card(label='Equipment') }}{{ 'x' if a == 'Done' }}\n"
        "<span class=\"badge\">{{ _('%(n)s labs', n=3) }}</span> LabNet · CSV\n"
        "{% trans %}Hello there{% endtrans %}", encoding="utf-8")
    texts = [f.text for f in marking.template_findings(page)]
    assert texts == ["title=Open the lab", "Equipment", "Nothing here yet."]
    module = tmp_path / "mod.py"
    module.write_text(
        "from labnet.i18n import _\n"
        "def f(n):\n"
        "    '''Docstrings are for developers.'''\n"
        "    log.info('Sent the reminder to people')\n"
        "    flash(f'Saved {n} labs.')\n"
        "    raise RuleViolation('name', _('Give the lab a name.'))\n"
        "    raise RuleViolation('name', 'Give the lab a name.')\n"
        "    raise ValueError('Bad value for a programmer')\n"
        "    TITLE = 'Utilisation per lab'\n"
        "    KEEP = 'Machine text for a feed'  # i18n: keep\n", encoding="utf-8")
    texts = [f.text for f in marking.python_findings(module)]
    assert texts == ["Saved ", " labs.", "Give the lab a name.", "Utilisation per lab"]
