"""Tasks over what officers record: acknowledgements, uses, activities, and the resolution file."""

from __future__ import annotations

from prefect import task

from operative.core.db import session_scope
from operative.core.settings import get_settings
from operative.errors import NotFound
from operative.models import Resolution
from operative.register import records
from tasks import REGISTER


@task(**REGISTER)
def has_record(obligation_id: int, kind: str) -> bool:
    """Whether an officer recorded a fact of this kind (an acknowledgement, a use…)."""
    with session_scope() as session:
        return bool(records.records(session, obligation_id, kind))


@task(**REGISTER)
def attachment_of_resolution(resolution_id: int) -> str:
    """The resolution as registered, written to a file to attach (the same bytes each time)."""
    with session_scope() as session:
        resolution = session.get(Resolution, resolution_id)
        if resolution is None:
            raise NotFound(f"no resolution {resolution_id}")
        folder = get_settings().data_dir / "attachments"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / resolution.source_name
        data = resolution.source_text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            temporary = path.with_suffix(path.suffix + ".part")
            temporary.write_bytes(data)
            temporary.replace(path)
        return str(path)


@task(**REGISTER)
def latest_record_text(obligation_id: int, kind: str) -> str | None:
    """The text of the newest record of this kind (an officer's revised draft…), if any."""
    with session_scope() as session:
        found = records.records(session, obligation_id, kind)
        return found[-1].text if found else None
