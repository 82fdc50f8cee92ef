"""Home page, the lab list, lab pages and equipment pages, from a visitor's side."""

from __future__ import annotations

import re

from labnet.extensions import db


def test_home_shows_live_counts_and_newest_labs(client, make_lab, make_equipment):
    lab = make_lab(name="Photonics Bench Lab", country="FR", kets=("MNEP", "MNEP.LAS"))
    other = make_lab(name="Additive Works", country="DE", kets=("AMT.ADD",))
    make_lab(name="Hidden Draft", country="IT", is_published=False, kets=("AI",))
    make_equipment(lab)
    make_equipment(lab)
    make_equipment(other)
    make_equipment(other, status="retired")
    html = client.get("/").get_data(as_text=True)
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', html))
    # Drafts and retired equipment do not count; sub-areas count under their area.
    assert counts == {"labs": "2", "equipment": "3", "countries": "2", "kets": "2"}
    assert "Photonics Bench Lab" in html and "Additive Works" in html
    assert "Hidden Draft" not in html
    assert 'action="/labs"' in html and 'name="q"' in html


def test_labs_list_paginates_by_name(client, make_lab, app):
    app.config["LABS_PER_PAGE"] = 5
    for i in range(12):
        make_lab(name=f"Lab {i:02d}")
    first = client.get("/labs").get_data(as_text=True)
    third = client.get("/labs?page=3").get_data(as_text=True)
    assert "12 labs" in first
    assert "Lab 00" in first and "Lab 04" in first and "Lab 05" not in first
    assert "Lab 10" in third and "Lab 11" in third and "Lab 09" not in third
    assert 'href="/labs?page=2"' in first
    # Past the end: an empty page, not an error.
    assert client.get("/labs?page=99").status_code == 200
    assert client.get("/labs?page=abc").status_code == 200


def test_labs_search_words_narrow_the_list(client, make_lab):
    make_lab(name="Laser Applications Centre", city="Aachen")
    make_lab(name="Biotech Pilot Plant", city="Ghent", description="Fermentation scale-up")
    html = client.get("/labs?q=fermentation").get_data(as_text=True)
    assert "Biotech Pilot Plant" in html and "Laser Applications Centre" not in html
    assert "1 lab " in html or "1 lab matching" in html
    html = client.get("/labs?q=nothing-like-this").get_data(as_text=True)
    assert "No lab matches" in html


def test_drafts_are_invisible_to_the_public(client, make_lab, make_user, login):
    draft = make_lab(name="Secret Draft Lab", is_published=False)
    assert "Secret Draft Lab" not in client.get("/labs").get_data(as_text=True)
    assert "Secret Draft Lab" not in client.get("/labs?q=secret").get_data(as_text=True)
    assert client.get(f"/labs/{draft.slug}").status_code == 404
    login(make_user())
    assert client.get(f"/labs/{draft.slug}").status_code == 404


def test_manager_sees_own_draft_with_a_badge(client, make_lab, make_user, login):
    draft = make_lab(name="Upcoming Lab", is_published=False)
    login(make_user(manages=(draft,)))
    html = client.get(f"/labs/{draft.slug}").get_data(as_text=True)
    assert "Upcoming Lab" in html and "Draft" in html


def test_lab_page_shows_profile_equipment_hours_and_policy(client, make_lab, make_equipment,
                                                         app):
    from datetime import time

    from labnet.models import OpeningHours

    lab = make_lab(name="Nano Characterisation Lab", capabilities="SEM imaging\nXRD analysis",
                   contact_email="lab@example.org", kets=("AMN", "AMN.CHR"))
    make_equipment(lab, name="Field-emission SEM", maker="JEOL", model="JSM-IT800")
    make_equipment(lab, name="Retired XRD", status="retired")
    with app.app_context():
        db.session.add_all([
            OpeningHours(lab_id=lab.id, weekday=0, opens_at=time(8), closes_at=time(12)),
            OpeningHours(lab_id=lab.id, weekday=0, opens_at=time(13), closes_at=time(17)),
        ])
        db.session.commit()
    html = client.get(f"/labs/{lab.slug}").get_data(as_text=True)
    for text in ("Nano Characterisation Lab", "SEM imaging", "XRD analysis", "lab@example.org",
                 "Field-emission SEM", "JEOL JSM-IT800", "AMN.CHR", "08:00–12:00, 13:00–17:00",
                 "Monday", "Europe/Berlin"):
        assert text in html, text
    assert "Retired XRD" not in html


def test_equipment_page_shows_specs_and_marks_the_sme_rate_for_sme_members(
        client, make_lab, make_equipment, make_org, make_user, login):
    lab = make_lab()
    item = make_equipment(lab, name="Micro-CT scanner", specs={"Voxel size": "0.5 µm"},
                          booking_unit="hour", min_units=1, max_units=8)
    html = client.get(f"/equipment/{item.id}").get_data(as_text=True)
    assert "Micro-CT scanner" in html and "Voxel size" in html and "0.5 µm" in html
    assert "€150" in html and "€120" in html and "your organisation's rate" not in html
    login(make_user(organisation=make_org(kind="company", size_class="micro")))
    html = client.get(f"/equipment/{item.id}").get_data(as_text=True)
    assert "your organisation&#39;s rate" in html or "your organisation's rate" in html


def test_large_company_members_are_not_offered_the_sme_rate(
        client, make_lab, make_equipment, make_org, make_user, login):
    item = make_equipment(make_lab())
    login(make_user(organisation=make_org(kind="company", size_class="large")))
    html = client.get(f"/equipment/{item.id}").get_data(as_text=True)
    assert "your organisation" not in html


def test_unknown_lab_and_equipment_answer_404(client):
    assert client.get("/labs/no-such-lab").status_code == 404
    assert client.get("/equipment/999999").status_code == 404


def test_user_text_is_escaped_on_every_catalogue_page(client, make_lab, make_equipment):
    hostile = '<script>alert("x")</script>'
    lab = make_lab(name=f"Lab {hostile}", description=hostile, capabilities=hostile)
    item = make_equipment(lab, name=f"SEM {hostile}", specs={hostile: hostile})
    for url in ("/", "/labs", f"/labs/{lab.slug}", f"/equipment/{item.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;" in html, url




def test_pages_issue_the_same_number_of_queries_whatever_the_size(count_queries, make_lab,
                                                                  make_equipment):
    labs = [make_lab(name=f"Lab {i:02d}") for i in range(3)]
    for lab in labs:
        make_equipment(lab)
    small = {u: count_queries(u) for u in ("/", "/labs", f"/labs/{labs[0].slug}")}
    more = [make_lab(name=f"Lab {i:02d}") for i in range(3, 25)]
    for lab in [*labs, *more]:
        make_equipment(lab)
        make_equipment(lab)
    large = {u: count_queries(u) for u in ("/", "/labs", f"/labs/{labs[0].slug}")}
    assert small == large
    # The lab page: +1 for its networks (issue 6), +1 for whether it is managed (rule 8:
    # the claim box and the booking notice share it), +1 for who receives its contact form,
    # +1 for its upcoming events (their organisers only when there are some), +1 for its
    # currently valid accreditations (the badges).
    assert max(large.values()) <= 11, large
