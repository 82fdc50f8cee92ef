"""Accreditations: claims with evidence, verification, expiry and renewal (claims.py,
evidence.py, validity.py, reminders.py), the public registry and verification pages
(registry.py). The excellence label's services are beside them (label*.py)."""
