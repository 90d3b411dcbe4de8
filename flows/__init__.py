"""Prefect flows: one per playbook. Flows only orchestrate; the rules live in ``operative``.

``PLAYBOOK_FLOWS`` names each playbook's flow by import path, so the CLI can check a
playbook name without importing Prefect.
"""

from __future__ import annotations

import importlib
from typing import Any

PLAYBOOK_FLOWS: dict[str, str] = {
    "forward_to_pga": "flows.forward_to_pga:forward_to_pga",
    "national_positions": "flows.national_positions:national_positions",
    "inform_member_states": "flows.inform_member_states:inform_member_states",
    "migrant_perspectives": "flows.migrant_perspectives:migrant_perspectives",
    "lead_agency_statement": "flows.lead_agency_statement:lead_agency_statement",
    "track_obligation": "flows.track_obligation:track_obligation",
}

# Flows that belong to no playbook.
OTHER_FLOWS: dict[str, str] = {"reminder_sweep": "flows.reminder_sweep:reminder_sweep"}


def load_flow(playbook: str) -> Any:
    """The flow object of a playbook (imports Prefect)."""
    module, _, name = PLAYBOOK_FLOWS[playbook].partition(":")
    return getattr(importlib.import_module(module), name)
