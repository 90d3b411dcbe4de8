"""Keeping channel credentials out of every log line, database row and error message.

Apprise's privacy mode (``url(privacy=True)``) hides passwords and the tokens each service
declares private, but leaves the values of ``+header``, ``-param`` and ``:payload`` arguments
visible — where a webhook's ``Authorization`` header lives. Three layers close the gap:

- :func:`mask_url` masks user passwords, every prefixed argument value and any argument whose
  name looks like a credential, on top of what Apprise already hid;
- every value substituted from the environment or a secret file is registered here, and
  :func:`redact` replaces it (and its URL-encoded forms) wherever it appears;
- :class:`RedactingFilter`, on the ``apprise`` and ``operative.notify`` loggers, runs each record
  through :func:`redact` before any handler (or Apprise's own per-call capture) sees it.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "****"
LOGGER_NAME = "operative.notify"
# A value shorter than this is not registered: redacting "ab" everywhere would mangle text
# and no credential is that short.
_MIN_SECRET_LENGTH = 4
_CREDENTIAL_NAME = re.compile(
    r"pass|pwd|secret|token|key|auth|sig|cred|bearer|session|cookie|apikey", re.IGNORECASE
)
_PREFIXES = ("+", "-", ":")
# Apprise writes its defaults into every URL it rebuilds; they say nothing about the target.
_DEFAULTS = {
    ("overflow", "upstream"),
    ("retry", "0"),
    ("wait", "0.5"),
    ("optional", "no"),
    ("method", "POST"),
}


class SecretRegistry:
    """The credential values this process has read; :meth:`redact` hides them in any text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        """Remember ``value`` and the forms it takes inside a URL."""
        value = value.strip()
        if len(value) < _MIN_SECRET_LENGTH:
            return
        forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
        with self._lock:
            if forms <= self._values:
                return
            self._values |= forms
            # Longest first, so a secret containing another is replaced whole.
            self._ordered = tuple(sorted(self._values, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every registered value replaced by ``****``."""
        for value in self._ordered:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def clear(self) -> None:
        """Forget every value (tests)."""
        with self._lock:
            self._values.clear()
            self._ordered = ()


secrets = SecretRegistry()


def register_secret(value: str) -> None:
    """Treat ``value`` as a credential from now on."""
    secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every known credential masked."""
    return secrets.redact(text)


def _masked_query(query: str) -> str:
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if (name, value) in _DEFAULTS:
            continue
        hidden = name.startswith(_PREFIXES) or bool(_CREDENTIAL_NAME.search(name))
        shown = MASK if hidden and value else quote(value, safe="@,/")
        parts.append(f"{quote(name, safe='+-:_.')}={shown}")
    return "&".join(parts)


def mask_url(url: str) -> str:
    """An Apprise URL (plain or already privacy-masked by Apprise) safe to log and store."""
    try:
        split = urlsplit(url)
    except ValueError:
        return mask_unparsable(url)
    netloc = split.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if has_password else f"{user}@{hostport}"
    masked = f"{split.scheme}://{netloc}{split.path}"
    query = _masked_query(split.query) if split.query else ""
    if query:
        masked += "?" + query
    return redact(masked)


def mask_unparsable(url: str) -> str:
    """What may be shown of a URL nobody could parse: its scheme and host, nothing else."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return MASK
    host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    return redact(f"{scheme}://{host}/{MASK}" if host else f"{scheme}://{MASK}")


class RedactingFilter(logging.Filter):
    """Rewrites a record so no registered credential reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_installed = False
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Put :class:`RedactingFilter` on the ``apprise`` and ``operative.notify`` loggers, once.

    Apprise logs through the one ``apprise`` logger, and its per-call result capture is a
    handler on that logger, so a filter there also cleans what ends up in per-target results.
    A null handler keeps Apprise's warnings off stderr in programs that configure no logging
    (they are reported through the results instead).
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        apprise_logger = logging.getLogger("apprise")
        apprise_logger.addFilter(RedactingFilter())
        apprise_logger.addHandler(logging.NullHandler())
        # Every operative.notify module logs through this one logger (filters do not inherit).
        logging.getLogger(LOGGER_NAME).addFilter(RedactingFilter())
        _installed = True
