"""Notifications: an outbox of messages and deliveries, sent through Apprise exactly once.

- :mod:`operative.notify.channels` reads ``config/apprise.yml`` (credentials from the
  environment or secret files) into channels routed by tag;
- :mod:`operative.notify.templates` renders each kind of message in English, French or Spanish;
- :mod:`operative.notify.outbox` enqueues messages as one delivery per (message, recipient,
  channel), idempotently;
- :mod:`operative.notify.dispatch` sends what is due, with bounded concurrency, retries and
  crash reconciliation;
- :mod:`operative.notify.inbox` is the local ``inbox://`` channel;
- :mod:`operative.notify.masking` keeps credentials out of logs, rows and error messages.

Importing this package is cheap: Apprise, Jinja2 and Babel load with the modules that use them.
"""
