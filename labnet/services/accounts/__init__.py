"""The accounts area: people, organisations, sessions and roles.

- :mod:`.rules`: registration, joining an organisation by its admins' approval, password
  rules, server-side login sessions, signed expiring e-mail links, and roles;
- :mod:`.navigation`: what the navigation bar shows a signed-in user, in one query.
"""
