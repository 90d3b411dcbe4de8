"""The compose file and the service units in deploy/ name commands, pools and settings that
exist. They cannot be started here (no container engine, no systemd as PID 1), so what can
drift silently is checked: a renamed command, pool or setting breaks an installation."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from operative.core.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _pools() -> set[str]:
    prefect_file = yaml.safe_load((DEPLOY / "prefect.yaml").read_text(encoding="utf-8"))
    return {spec["work_pool"]["name"] for spec in prefect_file["deployments"]}


def _check_command(argv: list[str]) -> None:
    """An operative command must be one the CLI has; a worker must serve a deployed pool."""
    program = Path(argv[0]).name
    if program == "operative":
        from typer.main import get_command

        from operative.cli import app

        group: Any = get_command(app)
        assert argv[1] in group.commands, f"`operative {argv[1]}` is not a command"
        command = group.commands[argv[1]]
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        options = [arg for arg in argv[2:] if arg.startswith("--")]
        assert set(options) <= known, f"`operative {argv[1]}` has no option {set(options) - known}"
    elif program == "prefect" and argv[1] == "worker":
        pool = argv[argv.index("--pool") + 1]
        assert pool in _pools(), f"no deployment is on the work pool {pool!r}"
    else:
        assert program in {"prefect", "sh"}, f"unexpected program {program}"


def _settings_names(names: list[str]) -> None:
    fields = {f"OPERATIVE_{name.upper()}" for name in Settings.model_fields}
    unknown = [name for name in names if name.startswith("OPERATIVE_") and name not in fields]
    assert not unknown, f"no such setting: {unknown}"


def test_the_compose_file_runs_commands_pools_and_settings_that_exist() -> None:
    """A compose file naming a command or setting that no longer exists fails only when an
    operator starts it: this catches the drift first."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "prefect-server", "deploy", "worker", "web"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name, service in services.items():
        if name == "postgres":
            continue
        command = service["command"]
        if command[:2] == ["sh", "-c"]:
            for part in command[2].split("&&"):
                _check_command(shlex.split(part))
        else:
            _check_command(command)
        _settings_names(list(service["environment"]))
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_each_service_unit_starts_a_command_that_exists(unit: Path) -> None:
    """A unit's ExecStart is the one line systemd runs; a wrong command or option there means
    a service that restarts forever."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit, encoding="utf-8")
    argv = shlex.split(parser["Service"]["ExecStart"])
    assert argv[0].startswith("/opt/operative/.venv/bin/")
    _check_command(argv)
    assert parser["Service"]["EnvironmentFile"].startswith("/etc/operative/")


def test_the_example_environment_file_names_real_settings() -> None:
    """The example environment is what operators copy; a misspelt name there is ignored
    silently by the settings loader, so it must not be shipped."""
    lines = (DEPLOY / "systemd" / "operative.env.example").read_text(encoding="utf-8").splitlines()
    names = [line.lstrip("#").split("=", 1)[0] for line in lines if "=" in line and " " not in line]
    assert "OPERATIVE_SECRET_KEY" in names
    _settings_names(names)
