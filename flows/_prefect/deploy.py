"""``operative deploy``: every deployment of the deployments file registered on its work pool.

The process work pools that are missing are created first; then ``prefect deploy --all`` runs
on the file from the repository root, as a person would run it. Both need a Prefect server of
their own (``PREFECT_API_URL``): workers elsewhere take the runs from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flows._prefect.runtime import prefect_api
from flows._prefect.serve import DEFAULT_PREFECT_FILE, DeploymentSpec, display_path, load_specs
from operative.core.settings import REPO_ROOT
from operative.errors import Invalid, OperativeError
from operative.orchestration import Deployed, Deployment

PREFECT_DEPLOY = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]


def deployment_of(spec: DeploymentSpec) -> Deployment:
    """A deployment as the CLI shows it."""
    when = "; ".join(s.describe() for s in spec.schedules) or "when started, with parameters"
    return Deployment(name=spec.full_name, when=when, work_pool=spec.work_pool)


def deploy(prefect_file: Path | None, data_dir: Path) -> Deployed:
    """Register every deployment of ``prefect_file`` on the server at ``PREFECT_API_URL``."""
    path = (prefect_file or DEFAULT_PREFECT_FILE).resolve()
    specs = load_specs(path)
    _refuse_without_workers(specs, path)
    with prefect_api(data_dir) as url:
        created = ensure_process_pools(sorted({str(spec.work_pool) for spec in specs}))
        done = subprocess.run(
            [*PREFECT_DEPLOY, "--prefect-file", str(path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise OperativeError(
            f"prefect deploy failed: {lines[-1] if lines else f'exit {done.returncode}'}"
        )
    return Deployed(url, created, [deployment_of(spec) for spec in specs])


def _refuse_without_workers(specs: list[DeploymentSpec], path: Path) -> None:
    """Deploying is for a server of its own and workers on pools: refuse before touching one."""
    if not os.environ.get("PREFECT_API_URL"):
        raise Invalid(
            "PREFECT_API_URL is not set: `operative deploy` registers deployments on a running "
            "Prefect server for its workers (on one machine, `operative serve` needs neither)"
        )
    for spec in specs:
        if spec.work_pool is None:
            raise Invalid(
                f"{display_path(path)}: deployments[{spec.name}].work_pool: a work pool is "
                "required to deploy for workers"
            )


def ensure_process_pools(names: list[str]) -> list[str]:
    """Create each missing work pool as a process pool; the names of those created."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    created = []
    with get_client(sync_client=True) as client:
        for name in names:
            try:
                client.read_work_pool(name)
            except ObjectNotFound:
                client.create_work_pool(
                    WorkPoolCreate(
                        name=name,
                        type="process",
                        base_job_template=ProcessWorker.get_default_base_job_template(),
                    )
                )
                created.append(name)
    return created
