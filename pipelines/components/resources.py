"""The workspace resource: where a dataset's zones live and which day counts as "today"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import Field

from pipelines.lib.privacy.pseudonymize import load_key
from pipelines.lib.release.killpoints import KillSwitch
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths, default_workspace, last_complete_day


class TrainsetWorkspace(dg.ConfigurableResource):
    """A trainset workspace: landing files, intermediate zones, releases, DVC and git."""

    root: str = Field(default_factory=default_workspace, description="Workspace folder.")
    as_of: str | None = Field(
        default=None,
        description="Reference day (YYYY-MM-DD) for retention and freshness; default: yesterday, UTC.",
    )
    kill_at: str | None = Field(
        default=None,
        description="Crash tests only: the release point (pipelines.lib.release.killpoints.POINTS) at which "
        "the run kills itself with SIGKILL. Leave unset.",
    )

    def paths(self, dataset: str) -> DatasetPaths:
        return DatasetPaths(Path(self.root).resolve(), dataset)

    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else last_complete_day()

    def key(self, spec: DatasetSpec) -> bytes:
        return load_key(spec.privacy.key_env)

    def kill_switch(self) -> KillSwitch:
        """Where the release kills itself (crash tests), or nowhere."""
        return KillSwitch(self.kill_at)
