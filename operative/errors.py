"""The errors operative raises on purpose: one tree, each class with its HTTP status and exit code.

The web's handler answers ``http_status`` and the CLI exits with ``exit_code``, both read from
the error, so a new error class decides its own answer in one place. Anything outside this tree
(a ``KeyError``, an ``AttributeError``) is a bug: the web answers 500 with a request id and
logs the traceback, the CLI says "internal error" and writes the traceback to a log file.

Hierarchy::

    OperativeError                  500, exit 1   the work failed (a backup, a missing catalog)
    ├── Invalid                     400, exit 2   bad input: a file, a date, an option, a config
    │   ├── TooLarge                413           a file over the size limit
    │   └── UnsupportedMedia        415           a file of a type that is not taken
    ├── NotFound                    404, exit 2   no such resolution, approval, user, …
    ├── Conflict                    409, exit 2   sound, but the register's state forbids it now
    ├── Forbidden                   403, exit 2   this person (or token) may not do this
    ├── Unauthenticated             401, exit 2   nobody is signed in
    └── Unavailable                 503, exit 1   a service operative needs does not answer

A module's own classes subclass one of these (``ApprovalError(Forbidden)``,
``LifecycleError(Conflict)``); a class may set its own ``http_status`` where the web's answer
is narrower (a submission's unreadable form is a 422). None of them subclasses a built-in
exception: ``except ValueError`` must not catch a refusal, nor a refusal's handler a bug.
"""

from __future__ import annotations


class OperativeError(Exception):
    """An error operative raises on purpose; its class says how the web and the CLI answer."""

    http_status: int = 500
    exit_code: int = 1


class Invalid(OperativeError):
    """Bad input: the request or command cannot be taken as given."""

    http_status = 400
    exit_code = 2


class TooLarge(Invalid):
    """A file over the size limit."""

    http_status = 413


class UnsupportedMedia(Invalid):
    """A file of a type that is not taken."""

    http_status = 415


class NotFound(OperativeError):
    """What the request names does not exist."""

    http_status = 404
    exit_code = 2


class Conflict(OperativeError):
    """The request is sound but the register's state forbids it now."""

    http_status = 409
    exit_code = 2


class Forbidden(OperativeError):
    """The person or token asking may not do this."""

    http_status = 403
    exit_code = 2


class Unauthenticated(OperativeError):
    """Nobody is signed in where someone must be."""

    http_status = 401
    exit_code = 2


class Unavailable(OperativeError):
    """A service operative needs (the database, the Prefect API) does not answer."""

    http_status = 503
    exit_code = 1
