"""The rules of ``forward_to_pga`` (1244 OP5): which transmittal letter is drafted.

The first draft is the transmittal template, in English, dated for the PGA's office in New
York. After a rejection the letter is the officer's revised text
(`operative records add ID revision`) when one is recorded; without one, the template again
with the Chairperson's comment noted under it, so the approver sees what was asked.
"""

from __future__ import annotations

from operative.notify.recipients import NEW_YORK
from operative.notify.templates import Renderer, default_renderer
from operative.playbooks.statements import Text
from operative.register.runs import Brief

PGA_OFFICE = "Office of the President of the General Assembly"
# The resolution itself travels with the letter.
ENCLOSURES = 1


def letter(
    brief: Brief,
    *,
    version: int,
    reason: str | None,
    revised: str | None,
    renderer: Renderer | None = None,
) -> Text:
    """Draft ``version`` of the letter: ``revised`` is the newest revision officers recorded."""
    resolution = brief.resolution
    rendered = (renderer or default_renderer()).render(
        "transmittal",
        language="en",
        timezone=NEW_YORK,
        context={
            "resolution": {
                "number": resolution.number,
                "title": resolution.title,
                "adopted_on": resolution.adopted_on,
            },
            "paragraph": brief.paragraph,
            "enclosures": ENCLOSURES,
            "recipient": {"name": PGA_OFFICE},
        },
    )
    if version > 1 and revised:
        return Text(title=rendered.subject, body=revised)
    body = rendered.body
    if reason:
        body += f"\n\n[Draft {version}, no revised text recorded; the comment was: {reason}]"
    return Text(title=rendered.subject, body=body)
