"""``flask labnet labs create|import|template``: a network operator seeding a region's
catalogue (issue 12 §1). Imports are all rows or none, with every problem's line and column."""

from __future__ import annotations

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, Lab, LabManager, Organisation
from labnet.services.catalogue.labs.lab_import import LAB_COLUMNS


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Lab, Organisation, AuditEvent))


def _lab(app, name: str) -> Lab | None:
    with app.app_context():
        return db.session.scalar(select(Lab).where(Lab.name == name))


def test_create_one_lab_of_a_new_organisation_placed_from_its_city(app, runner):
    result = runner.invoke(args=[
        "labnet", "labs", "create", "--name", "Photonics Lab Jena", "--organisation",
        "Jena Photonics Institute", "--org-kind", "rto", "--kind", "rto", "--country",
        "Germany", "--city", "Jena", "--website", "https://photonics.example.org",
        "--ket", "AMT.LAS"])
    assert result.exit_code == 0, result.output
    assert "Organisation created: Jena Photonics Institute" in result.output
    lab = _lab(app, "Photonics Lab Jena")
    assert lab is not None and lab.is_published and lab.country == "DE"
    assert lab.coords_source == "gazetteer" and abs(lab.lat - 50.93) < 0.2
    assert lab.timezone == "Europe/Berlin"  # the place's zone (the default was left)
    assert f"/labs/{lab.slug}" in result.output and "no manager yet" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LabManager)) == 0


def test_create_refuses_bad_input_naming_each_field_and_writes_nothing(app, runner,
                                                                          make_org):
    make_org(kind="company", size_class="small", name="Acme GmbH")
    before = _counts(app)
    result = runner.invoke(args=[
        "labnet", "labs", "create", "--name", "X", "--organisation", "Acme GmbH",
        "--kind", "nope", "--country", "DE", "--ket", "NOPE"])
    assert result.exit_code == 1
    assert "nothing was created" in result.output
    assert "organisation: Acme GmbH is a company: labs belong to" in result.output
    result = runner.invoke(args=[
        "labnet", "labs", "create", "--name", "X", "--organisation", "New Institute",
        "--org-kind", "rto", "--kind", "nope", "--country", "DE", "--ket", "NOPE"])
    assert result.exit_code == 1
    assert "kind_code: Choose one of the listed kinds of lab." in result.output
    assert "ket_codes: Unknown KET area code: NOPE." in result.output
    assert _counts(app) == before


def test_template_has_every_column_and_imports_as_one_lab(app, runner, tmp_path):
    template = runner.invoke(args=["labnet", "labs", "template"])
    assert template.exit_code == 0
    assert template.output.splitlines()[0] == ",".join(LAB_COLUMNS)
    path = tmp_path / "labs.csv"
    path.write_text(template.output)
    result = runner.invoke(args=["labnet", "labs", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 lab(s) were created" in result.output
    assert "1 organisation(s) were created: Example Institute of Technology" in result.output


GOOD = (
    "name,organisation,org_kind,kind,country,city,ket,lat,lon,published\r\n"
    "Battery Cell Lab,Nordic Battery Institute,rto,rto,SE,Västerås,AMT,,,yes\r\n"
    "Cell Testing Centre,Nordic Battery Institute,,rto,Sweden,Göteborg,,,,\r\n"
    "Lab By Hand,Existing University,,dih,FI,,,60.17,24.94,no\r\n"
)


def test_import_a_good_file_creates_labs_and_the_missing_organisations(
    app, runner, tmp_path, make_org
):
    make_org(kind="university", size_class=None, name="Existing University", country="FI")
    path = tmp_path / "labs.csv"
    path.write_text(GOOD, encoding="utf-8")
    dry = runner.invoke(args=["labnet", "labs", "import", "--dry-run", str(path)])
    assert dry.exit_code == 0, dry.output
    assert "3 lab(s) would be created" in dry.output and "nothing was written" in dry.output
    assert _lab(app, "Battery Cell Lab") is None

    result = runner.invoke(args=["labnet", "labs", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 lab(s) were created (1 placed by the coordinates given" in result.output
    assert "1 organisation(s) were created: Nordic Battery Institute" in result.output
    assert "labs" in result.stderr  # the progress bar
    battery, testing, by_hand = (_lab(app, n) for n in (
        "Battery Cell Lab", "Cell Testing Centre", "Lab By Hand"))
    assert battery.organisation_id == testing.organisation_id
    assert battery.coords_source == "gazetteer" and battery.timezone == "Europe/Stockholm"
    assert testing.country == "SE" and testing.is_published
    assert (by_hand.lat, by_hand.lon, by_hand.coords_source) == (60.17, 24.94, "manual")
    assert not by_hand.is_published
    # The same file again adds nothing: every row is a lab LabNet has already.
    again = runner.invoke(args=["labnet", "labs", "import", str(path)])
    assert again.exit_code == 1
    assert "line 2, column 1 (name): Nordic Battery Institute already has a lab called" in (
        again.output)


BAD = (
    "name,organisation,org_kind,kind,country,city,ket,lat,lon,published\r\n"
    "Good Lab,Nordic Battery Institute,rto,rto,SE,Västerås,AMT,,,yes\r\n"
    ",Nordic Battery Institute,,rto,SE,Västerås,,,,\r\n"
    "Unknown Kind Lab,Nordic Battery Institute,,space-station,Atlantis,Västerås,XYZ,,,\r\n"
    "Company Lab,Acme GmbH,,rto,DE,Berlin,,,,\r\n"
    "Orphan Lab,Unregistered Institute,,rto,DE,Berlin,,,,\r\n"
    "Nowhere Lab,Nordic Battery Institute,,rto,SE,Qwxyzville,,,,maybe\r\n"
    "Good Lab,Nordic Battery Institute,,rto,SE,Västerås,,north,,\r\n"
)


def test_a_file_with_bad_rows_writes_nothing_and_lists_every_problem(
    app, runner, tmp_path, make_org
):
    make_org(kind="company", size_class="small", name="Acme GmbH")
    path = tmp_path / "labs.csv"
    path.write_text(BAD, encoding="utf-8")
    before = _counts(app)
    result = runner.invoke(args=["labnet", "labs", "import", str(path)])
    assert result.exit_code == 1
    out = result.stderr
    assert "problems; nothing was imported" in out
    for expected in (
        "line 3, column 1 (name): Enter the lab's name.",
        "line 4, column 4 (kind): Choose one of the listed kinds of lab.",
        "line 4, column 5 (country): “Atlantis” is no country",
        "line 4, column 7 (ket): Unknown KET area code: XYZ.",
        "line 5, column 2 (organisation): Acme GmbH is a company: labs belong to",
        "line 6, column 3 (org_kind): “Unregistered Institute” is not registered",
        "line 7, column 10 (published): Write yes or no.",
        "line 8, column 1 (name): The same lab as on line 2",
        "line 8, column 8 (lat): Enter a number in decimal degrees",
    ):
        assert expected in out, (expected, out)
    assert _counts(app) == before
    # A row whose address is nowhere to be found asks for the place, on its city.
    only_nowhere = tmp_path / "nowhere.csv"
    only_nowhere.write_text(BAD.splitlines()[0] + "\r\n"
                            "Nowhere Lab,Existing RTO,,rto,SE,Qwxyzville,,,,\r\n")
    make_org(kind="rto", size_class=None, name="Existing RTO", country="SE")
    before = _counts(app)
    result = runner.invoke(args=["labnet", "labs", "import", str(only_nowhere)])
    assert result.exit_code == 1
    assert "line 2, column 6 (city): No place found for this address" in result.stderr
    assert _counts(app) == before


def test_import_refuses_a_file_that_is_not_a_lab_file(app, runner, tmp_path):
    path = tmp_path / "equipment.csv"
    path.write_text("foo,bar\r\n1,2\r\n")
    result = runner.invoke(args=["labnet", "labs", "import", str(path)])
    assert result.exit_code == 1
    assert "This is not a LabNet lab file" in result.output
