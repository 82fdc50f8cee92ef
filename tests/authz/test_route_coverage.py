"""Every rule of the URL map has an entry in the authorisation matrix."""

from tests.authz.cases import CASES

# Static files are public by nature.
EXEMPT_ENDPOINTS = {"static", "bootstrap.static"}


def test_every_route_is_in_the_authorisation_matrix(app):
    covered = {(c.endpoint, c.method) for c in CASES}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without a matrix entry:\n" + "\n".join(missing)
