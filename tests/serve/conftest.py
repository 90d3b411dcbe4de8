"""A Prefect server of the serve tests' own, whose scheduler plans runs within a second.

Not the session server of tests/flows: that one keeps Prefect's default scheduler loops
(60 s, and 5 s for new deployments), too slow to watch a scheduled run happen in a test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

FAST_SCHEDULER = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
}
# flows._prefect.runtime.prefect_api sets these for the process; they are put back afterwards so the
# rest of the session talks to the server it talked to before.
_TOUCHED = ("PREFECT_API_URL", "PREFECT_HOME", *FAST_SCHEDULER)


@pytest.fixture(autouse=True)
def any_free_web_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """`operative serve` started by these tests serves its web app on a port the system picks,
    so a test never fails because something else on the machine holds port 8000."""
    monkeypatch.setenv("OPERATIVE_WEB_PORT", "0")


@pytest.fixture(scope="module")
def scheduler_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a `prefect server start` on loopback with fast scheduler loops."""
    from flows._prefect.runtime import _refresh_prefect_settings, prefect_api

    saved = {name: os.environ.get(name) for name in _TOUCHED}
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.update(FAST_SCHEDULER)
    try:
        with prefect_api(tmp_path_factory.mktemp("scheduler-server")) as url:
            yield url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _refresh_prefect_settings()
