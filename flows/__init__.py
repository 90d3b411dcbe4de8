"""Prefect flows: one per playbook. Flows only orchestrate; the rules live in ``operative``.

``PLAYBOOK_FLOWS`` names each playbook's flow by import path, so the CLI can check a
playbook name without importing Prefect.
"""

from __future__ import annotations

import importlib
from typing import Any

from operative.playbooks import Playbook

# Each playbook's flow is the function of its name in the module of its name.
PLAYBOOK_FLOWS: dict[str, str] = {playbook: f"flows.{playbook}:{playbook}" for playbook in Playbook}

# Flows that belong to no playbook.
OTHER_FLOWS: dict[str, str] = {
    "reminder_sweep": "flows.reminder_sweep:reminder_sweep",
    "briefing_cycle": "flows.briefing_cycle:briefing_cycle",
}


def load_flow(playbook: str) -> Any:
    """The flow object of a playbook (imports Prefect)."""
    module, _, name = PLAYBOOK_FLOWS[playbook].partition(":")
    return getattr(importlib.import_module(module), name)
