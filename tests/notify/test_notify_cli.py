"""The notification commands, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.factories import channel_file, enqueue_invitation, load_states
from tests.notify.sinks import HttpSink


def test_a_failed_delivery_is_listed_then_retried_and_sent_from_the_cli(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_sink: HttpSink
) -> None:
    """After fixing a channel, the secretariat resends one notice without touching the rest."""
    load_states(db_url)
    broken = {"on": True}
    http_sink.fault = lambda _n, _key, _path: ("status", 410) if broken["on"] else None
    channel_file(tmp_path, monkeypatch, {http_sink.url("json"): "FRA", "inbox://": "secretariat"})
    enqueue_invitation(db_url, ["FRA"], key="k:cli")
    sent = run_cli("notify", "dispatch", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["failed"] == 1

    listed = run_cli("deliveries", "--failed", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["recipient"], r["status"]) for r in rows] == [("FRA", "failed")]
    assert "error=410" in rows[0]["last_error"]

    broken["on"] = False
    retried = run_cli("deliveries", "retry", str(rows[0]["id"]))
    assert retried.returncode == 0, retried.stderr
    assert f"Delivery {rows[0]['id']} sent." in retried.stdout
    assert len(http_sink.kept) == 1

    again = run_cli("deliveries", "retry", str(rows[0]["id"]))
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"operative: delivery {rows[0]['id']} is sent: only a failed delivery is retried"
    ]
    inbox = json.loads(run_cli("inbox", "--json").stdout)
    assert [item["title"] for item in inbox] == ["Undelivered notice: FRA (json)"]


def test_notify_test_reports_each_channel_and_refuses_unknown_targets(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_sink: HttpSink
) -> None:
    """A channel is checked before a campaign; a typo in the tag is bad input (exit 2)."""
    channel_file(tmp_path, monkeypatch, {http_sink.url("form"): "FRA", "inbox://": "FRA"})
    good = run_cli("notify", "test", "fra")
    assert good.returncode == 0, good.stderr
    assert sorted(line.split()[0] for line in good.stdout.splitlines()) == ["form", "inbox"]
    unknown = run_cli("notify", "test", "ATLANTIS")
    assert unknown.returncode == 2
    assert "'ATLANTIS'" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1
    bad_url = run_cli("notify", "test", "nosuchscheme://host/path")
    assert bad_url.returncode == 2 and "rejects" in bad_url.stderr
