"""Named points in the release where the process can be made to die, to prove crash safety.

A `KillSwitch(at=<point>)` handed to the release makes the process SIGKILL itself on reaching
that point: no cleanup handler, no `finally`, exactly like a power cut or the OOM killer. It is
passed explicitly (the `kill_at` field of the Dagster workspace resource, an argument of
`materialize_dataset` and of the release functions); the crash tests and `make chaos` set it.
Normal use passes `NEVER`.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

POINTS = {
    "release:staged": "version files written in staging, before the rename into datasets/",
    "release:renamed": "version folder renamed into place, before DVC tracks it",
    "publish:tracked": "datasets.dvc written by `dvc add`, before `dvc push`",
    "publish:pushed": "bytes pushed to the DVC remote, before the git commit",
    "publish:committed": "pointer committed in git, before the release tag",
    "withdraw:marked": "withdrawn versions recorded in the registry, before their bytes are purged",
}


@dataclass(frozen=True)
class KillSwitch:
    """Where, if anywhere, the release kills its own process.

    Raises ValueError on construction when `at` is not one of POINTS (the message lists them)."""

    #: one of POINTS, or None: never
    at: str | None = None

    def __post_init__(self) -> None:
        if self.at is not None and self.at not in POINTS:
            raise ValueError(f"kill point {self.at!r} does not exist; the points are: {', '.join(sorted(POINTS))}")

    def reach(self, point: str) -> None:
        """Die here, by SIGKILL, if this is the point the switch names."""
        if self.at == point:
            os.kill(os.getpid(), signal.SIGKILL)


NEVER = KillSwitch()
