"""Tasks over what officers record: acknowledgements, uses, activities, and the resolution file."""

from __future__ import annotations

from prefect import task

from operative import records
from operative.db import session_scope
from operative.models import Resolution
from operative.settings import get_settings
from tasks import transient_database_error


@task(retries=3, retry_delay_seconds=1, retry_condition_fn=transient_database_error)
def has_record(obligation_id: int, kind: str) -> bool:
    """Whether an officer recorded a fact of this kind (an acknowledgement, a use…)."""
    with session_scope() as session:
        return bool(records.records(session, obligation_id, kind))


@task(retries=3, retry_delay_seconds=1, retry_condition_fn=transient_database_error)
def attachment_of_resolution(resolution_id: int) -> str:
    """The resolution as registered, written to a file to attach (the same bytes each time)."""
    with session_scope() as session:
        resolution = session.get(Resolution, resolution_id)
        if resolution is None:
            raise LookupError(f"no resolution {resolution_id}")
        folder = get_settings().data_dir / "attachments"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / resolution.source_name
        data = resolution.source_text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            temporary = path.with_suffix(path.suffix + ".part")
            temporary.write_bytes(data)
            temporary.replace(path)
        return str(path)
