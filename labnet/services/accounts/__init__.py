"""The accounts area: people, organisations, sessions and roles.

- :mod:`.rules`: registration, joining an organisation by its admins' approval, password
  rules, server-side login sessions, signed expiring e-mail links, and roles;
- :mod:`.administration`: platform admins move, deactivate and reactivate people, resend
  confirmations, edit organisations and verify a company's size class;
- :mod:`.joins`: join requests without organisation admins go to the platform admins;
  reminders after 3 days, expiry after 14;
- :mod:`.navigation`: what the navigation bar shows a signed-in user, in one query.
"""
