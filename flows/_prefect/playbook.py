"""``@playbook(name)``: what every playbook flow does around its own steps.

A playbook flow is written as its steps, over a :class:`Run`::

    @playbook("forward_to_pga")
    def forward_to_pga(run: Run) -> str: ...

and deployed as ``forward_to_pga(obligation_id, drafted_by="secretariat")``. The decorator
makes it a Prefect flow whose hooks give the run lease back on a final state, claims the lease
(:func:`tasks.store.begin`), returns at once with the reason when the run has nothing to do
(the obligation is finished, or another active run holds it), and hands the steps the typed
brief of the obligation. Extra parameters of the steps (``cadence_weeks``) follow
``drafted_by`` in the flow's signature.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec

from prefect import Flow, flow, get_run_logger

from flows._prefect.common import (
    HOLDS_LEASE,
    Approved,
    current_run_id,
    message_context,
    publish,
    until_approved,
)
from operative.models import ObligationStatus
from operative.playbooks.statements import Text
from operative.register.runs import Brief, Stopped
from tasks.store import begin, set_status

P = ParamSpec("P")
DRAFTED_BY = "secretariat"


@dataclass(frozen=True)
class Run:
    """One run of a playbook on one obligation, holding its lease."""

    playbook: str
    brief: Brief
    drafted_by: str
    context: Mapping[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", message_context(self.brief))

    @property
    def obligation_id(self) -> int:
        return self.brief.obligation_id

    @property
    def actor(self) -> str:
        """Who the register says acted, when the flow itself did."""
        return f"flow:{self.playbook}"

    def publish(self, progress: float, rows: Sequence[Mapping[str, Any]], description: str) -> None:
        """Show where the obligation stands, and who was asked and who answered."""
        publish(self.obligation_id, progress, rows, description)

    def approved(
        self,
        *,
        kind: str,
        step: str,
        approved_step: str,
        role: str,
        draft: Callable[[int, str | None], Text],
        cycle: int = 0,
        progress: int | None = None,
    ) -> Approved | None:
        """Draft, ask ``role`` to approve, redraft after a rejection (see ``until_approved``)."""
        return until_approved(
            self.obligation_id,
            kind=kind,
            step=step,
            approved_step=approved_step,
            role=role,
            drafted_by=self.drafted_by,
            context=self.context,
            draft=draft,
            cycle=cycle,
            progress=progress,
        )

    def done(self, note: str, rows: Sequence[Mapping[str, Any]], description: str) -> str:
        """Close the obligation: done in the register, complete on the run's page."""
        set_status(self.obligation_id, ObligationStatus.done, actor=self.actor, note=note)
        self.publish(100, rows, description)
        return "done"


def _flow_signature(steps: Callable[..., str]) -> tuple[inspect.Signature, dict[str, Any]]:
    """The flow's parameters: the obligation and who drafts, then the steps' own."""
    hints = typing.get_type_hints(steps)
    own = list(inspect.signature(steps).parameters.values())[1:]
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [
        inspect.Parameter("obligation_id", keyword, annotation=int),
        inspect.Parameter("drafted_by", keyword, default=DRAFTED_BY, annotation=str),
        *(p.replace(annotation=hints[p.name]) for p in own),
    ]
    annotations = {p.name: p.annotation for p in parameters} | {"return": str}
    return inspect.Signature(parameters, return_annotation=str), annotations


def playbook(name: str) -> Callable[[Callable[Concatenate[Run, P], str]], Flow[..., str]]:
    """Make ``steps`` the flow of playbook ``name``: lease, stop, brief, then the steps."""

    def decorate(steps: Callable[Concatenate[Run, P], str]) -> Flow[..., str]:
        @functools.wraps(steps)
        def entry(obligation_id: int, drafted_by: str, *args: P.args, **kwargs: P.kwargs) -> str:
            started = begin(obligation_id, name, current_run_id())
            if isinstance(started, Stopped):
                if started.holder_state is not None:
                    get_run_logger().info(
                        "Obligation %s: %s (%s)",
                        obligation_id,
                        started.reason,
                        started.holder_state,
                    )
                return started.reason
            return steps(Run(name, started, drafted_by), *args, **kwargs)

        signature, annotations = _flow_signature(steps)
        # Prefect reads the parameters (and their schema) from the signature.
        entry.__signature__ = signature  # type: ignore[attr-defined]
        entry.__annotations__ = annotations
        return flow(name=name, log_prints=False, **HOLDS_LEASE)(entry)

    return decorate
