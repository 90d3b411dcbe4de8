"""operative: turns an adopted resolution into tracked, scheduled, approved and notified work.

The core package. It imports no Prefect, so the CLI stays fast and the rules stay testable
without an orchestrator; flows and tasks call into it.
"""

from __future__ import annotations

__version__ = "0.1.0"
