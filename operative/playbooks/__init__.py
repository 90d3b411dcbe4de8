"""The rules and texts of each playbook: what a flow decides, tested without Prefect.

:class:`Playbook` names the six playbooks: the keys of ``config/playbooks.yaml``, each with a
module here and a flow of the same name in ``flows/``.
"""

from __future__ import annotations

import enum


class Playbook(enum.StrEnum):
    forward_to_pga = "forward_to_pga"
    national_positions = "national_positions"
    inform_member_states = "inform_member_states"
    migrant_perspectives = "migrant_perspectives"
    lead_agency_statement = "lead_agency_statement"
    track_obligation = "track_obligation"
