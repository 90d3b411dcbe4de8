"""The rules of ``track_obligation``, the generic playbook: who owns it and what proves it done.

The owner is the obligation's actor role when operative writes to that role, else the
secretariat. The obligation is done once evidence is recorded against it; a declaratory
paragraph (one that affirms rather than asks) is done by its affirmation as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from operative.notify.recipients import ROLES

FALLBACK_OWNER = "secretariat"


@dataclass(frozen=True)
class Fact:
    """A fact officers recorded against an obligation."""

    id: int
    kind: str
    text: str
    reference: str | None = None


def owner(actor_role: str | None) -> str:
    """The role reminded about the obligation."""
    return actor_role if actor_role in ROLES else FALLBACK_OWNER


def closing_kinds(declaratory: bool) -> tuple[str, ...]:
    """The kinds of record that close the obligation, the first found winning."""
    return ("affirmation", "evidence") if declaratory else ("evidence",)


def proof(declaratory: bool, facts: Mapping[str, Sequence[Fact]]) -> Fact | None:
    """The record that proves the obligation done (the oldest of the first closing kind)."""
    for kind in closing_kinds(declaratory):
        if facts.get(kind):
            return facts[kind][0]
    return None


def done_note(fact: Fact) -> str:
    """What the register says when the obligation is marked done (its note holds 500)."""
    return f"marked done with {fact.kind} (record {fact.id}): {fact.text}"


def waiting_for(declaratory: bool) -> str:
    """What a run reports while nothing proves the obligation done."""
    return "awaiting_affirmation" if declaratory else "awaiting_evidence"
