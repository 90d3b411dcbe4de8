"""The error tree: every error the core raises on purpose says its own HTTP status and exit code,
and anything else is answered as the bug it is (a 500 with a request id, exit 1 with a log)."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import operative
from operative import errors
from operative.cli._common import Group
from operative.web.app import create_app

# Not errors: signals that unwind a start (a BaseException, like KeyboardInterrupt).
NOT_ERRORS = {"operative.cli.serve._Shutdown"}


def _core_exception_classes() -> list[type[BaseException]]:
    found = []
    for module in pkgutil.walk_packages(operative.__path__, "operative."):
        if module.name.endswith(".__main__"):  # importing it runs the command line
            continue
        loaded = importlib.import_module(module.name)
        for _name, value in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.name:
                found.append(value)
    return found


def test_every_exception_class_of_the_core_is_in_the_tree() -> None:
    """A class outside the tree would be answered as a bug: 500, "internal error"."""
    classes = _core_exception_classes()
    assert len(classes) > 20
    outside = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in classes
        if not issubclass(kind, errors.OperativeError)
        and f"{kind.__module__}.{kind.__qualname__}" not in NOT_ERRORS
    ]
    assert outside == []


def test_no_error_of_the_tree_is_a_builtin_lookup_or_value_error() -> None:
    """``except ValueError`` around a parse must not swallow a refusal, nor a refusal's
    handler a bug."""
    for kind in _core_exception_classes():
        assert not issubclass(kind, (LookupError, ValueError, RuntimeError)), kind


def _app_raising(error: BaseException) -> TestClient:
    app = create_app()

    def fail() -> None:
        raise error

    app.add_api_route("/api/test-failure", fail)
    app.add_api_route("/test-failure", fail)
    return TestClient(app)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotFound("no obligation 7"), 404),
        (errors.Invalid("expected YYYY-MM-DD"), 400),
        (errors.Conflict("a run is still going"), 409),
        (errors.Forbidden("needs the role 'chair'"), 403),
        (errors.Unavailable("Prefect API is not answering"), 503),
        (errors.TooLarge("over 10 MB"), 413),
        (errors.UnsupportedMedia("not a PDF"), 415),
    ],
)
def test_the_web_answers_an_error_with_its_own_status(
    error: errors.OperativeError, status: int
) -> None:
    """The status is the error's, in one place: a new error class needs no handler edit."""
    with _app_raising(error) as client:
        api = client.get("/api/test-failure")
        page = client.get("/test-failure")
    assert api.status_code == status and api.json() == {"detail": str(error)}
    assert page.status_code == status and str(error).replace("'", "&#39;") in page.text


def test_a_bug_in_the_web_is_a_500_with_a_request_id_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A KeyError from a bug once read as "not found"; now it says what it is, and the id in
    the answer finds its traceback in the log."""
    with (
        caplog.at_level(logging.ERROR, logger="operative.web"),
        _app_raising(KeyError("obligation")) as client,
    ):
        api = client.get("/api/test-failure")
        page = client.get("/test-failure")
    assert api.status_code == 500 and page.status_code == 500
    request_id = api.headers["X-Request-ID"]
    assert request_id in api.json()["detail"]
    assert page.headers["X-Request-ID"] in page.text
    # The security headers wrap the error answer too.
    assert page.headers["X-Frame-Options"] == "DENY"
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert logged[0].exc_info[0] is KeyError


def _cli_raising(error: BaseException) -> typer.Typer:
    app = typer.Typer(cls=Group)

    @app.command()
    def fail() -> None:
        raise error

    @app.command()
    def other() -> None:
        """Only here so that ``fail`` stays a subcommand."""

    return app


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.NotFound("no approval 9"), 2),
        (errors.Invalid("--date x: expected NAME=YYYY-MM-DD"), 2),
        (errors.Forbidden("jdoe may not run playbooks"), 2),
        (errors.Unavailable("Prefect API at http://x is not answering"), 1),
        (errors.OperativeError("the backup could not be written"), 1),
    ],
)
def test_the_cli_exits_with_the_error_s_own_code(error: errors.OperativeError, code: int) -> None:
    """Exit 2 says "fix your input", exit 1 "the work failed": the error class decides."""
    result = CliRunner().invoke(_cli_raising(error), ["fail"])
    assert result.exit_code == code
    assert result.stderr.strip() == f"operative: {error}"


def test_a_bug_in_the_cli_is_exit_1_with_its_traceback_in_a_log(isolated_env: Path) -> None:
    """A KeyError from a bug once exited 2 ("bad input"), sending the user to check input
    that was fine; now it is one line naming the log that holds the traceback."""
    result = CliRunner().invoke(_cli_raising(KeyError("obligation")), ["fail"])
    assert result.exit_code == 1
    log = isolated_env / "logs" / "cli-errors.log"
    assert result.stderr.strip() == f"operative: internal error, see {log}"
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "KeyError: 'obligation'" in text
