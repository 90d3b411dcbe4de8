"""deploy/prefect.yaml describes every flow, and a bad schedule is refused naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows import OTHER_FLOWS, PLAYBOOK_FLOWS
from flows._prefect.serve import DEFAULT_PREFECT_FILE, PrefectFileError, load_specs
from operative.core.settings import REPO_ROOT


def _shipped() -> dict:
    return yaml.safe_load(DEFAULT_PREFECT_FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_every_flow_has_a_deployment_and_only_the_cycles_are_scheduled() -> None:
    """A playbook without a deployment could be neither served nor run by a worker."""
    specs = {spec.full_name: spec for spec in load_specs()}
    for name, target in {**PLAYBOOK_FLOWS, **OTHER_FLOWS}.items():
        module, _, attribute = target.partition(":")
        full_name = f"{name}/{name.replace('_', '-')}"
        assert full_name in specs, full_name
        assert specs[full_name].entrypoint == f"{module.replace('.', '/')}.py:{attribute}"
    assert "briefing_cycle/briefing-cycle" in specs
    scheduled = {name: spec.schedules for name, spec in specs.items() if spec.schedules}
    assert {name: [(s.cron, s.timezone) for s in found] for name, found in scheduled.items()} == {
        "reminder_sweep/reminder-sweep": [("0 * * * *", "Europe/Zurich")],
        "briefing_cycle/briefing-cycle": [("0 9 1 * *", "Europe/Zurich")],
    }
    assert {spec.work_pool for spec in specs.values()} == {"operative"}
    for name in scheduled:
        assert specs[name].concurrency_limit is not None
        assert specs[name].concurrency_limit.limit == 1


def test_every_top_level_module_of_flows_is_a_deployment_entrypoint() -> None:
    """flows/ holds only what is deployed: Prefect's plumbing lives in flows/_prefect."""
    modules = {
        f"flows/{path.name}"
        for path in (REPO_ROOT / "flows").glob("*.py")
        if path.name != "__init__.py"
    }
    entrypoints = {spec.entrypoint.partition(":")[0] for spec in load_specs()}
    assert modules == entrypoints


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (
            lambda d: d["definitions"]["schedules"]["every_hour"].update(cron="0 * * * 1-8"),
            "definitions.schedules.every_hour.cron",
            "not a valid cron expression: '0 * * * 1-8'",
        ),
        (
            lambda d: d["definitions"]["schedules"]["first_of_the_month"].update(
                timezone="Europe/Geneva"
            ),
            "definitions.schedules.first_of_the_month.timezone",
            "unknown time zone: 'Europe/Geneva'",
        ),
        (
            lambda d: d["definitions"]["schedules"]["every_hour"].update(cron="0 * * * * *"),
            "definitions.schedules.every_hour.cron",
            "a cron expression has five fields (minute hour day month weekday): '0 * * * * *'",
        ),
        (
            lambda d: d["deployments"][0].update(schedules=[{"cron": "0 9 * * *"}]),
            "deployments[forward-to-pga].schedules[0].timezone",
            "a time zone is required",
        ),
        (
            lambda d: d["deployments"][0].update(
                schedules=[{"cron": "0 9 * * *", "timezone": "Mars/Olympus"}]
            ),
            "deployments[forward-to-pga].schedules[0].timezone",
            "unknown time zone: 'Mars/Olympus'",
        ),
        (
            lambda d: d["deployments"][0].update(schedules=[{"interval": 60, "timezone": "UTC"}]),
            "deployments[forward-to-pga].schedules[0].interval",
            "only cron schedules are supported",
        ),
        (
            lambda d: d["deployments"][1].update(entrypoint="flows/nowhere.py:nothing"),
            "deployments[national-positions].entrypoint",
            "flows/nowhere.py does not exist",
        ),
        (
            lambda d: d["deployments"][1].update(name="forward-to-pga"),
            "deployments[forward-to-pga]",
            "the name is used twice",
        ),
        (
            lambda d: d["deployments"][2].update(concurrency_limit={"limit": 0}),
            "deployments[inform-member-states].concurrency_limit.limit",
            "at least 1",
        ),
    ],
)
def test_bad_deployments_file_is_refused_naming_the_key(
    tmp_path: Path, change, key: str, message: str
) -> None:
    """An operator must see which line to fix, before anything is registered."""
    document = _shipped()
    change(document)
    path = _write(tmp_path, document)
    with pytest.raises(PrefectFileError) as raised:
        load_specs(path)
    assert str(raised.value).startswith(f"{path}: {key}: ")
    assert message in str(raised.value)


def test_unreadable_or_malformed_file_is_refused(tmp_path: Path) -> None:
    """A missing file or broken YAML is bad input too, not a traceback."""
    with pytest.raises(PrefectFileError, match="cannot read"):
        load_specs(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("deployments:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(PrefectFileError, match=r"line \d+: not valid YAML"):
        load_specs(broken)
