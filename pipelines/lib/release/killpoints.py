"""Named points in the release where the process can be made to die, to prove crash safety.

`TRAINSET_KILL_AT=<point>` makes the process SIGKILL itself on reaching that point: no cleanup
handler, no `finally`, exactly like a power cut or the OOM killer. The crash tests and
`make chaos` use it; unset (always, in normal use) it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = {
    "release:staged": "version files written in staging, before the rename into datasets/",
    "release:renamed": "version folder renamed into place, before DVC tracks it",
    "publish:tracked": "datasets.dvc written by `dvc add`, before `dvc push`",
    "publish:pushed": "bytes pushed to the DVC remote, before the git commit",
    "publish:committed": "pointer committed in git, before the release tag",
    "withdraw:marked": "withdrawn versions recorded in the registry, before their bytes are purged",
}


def reach(point: str) -> None:
    """Die here if this is the point named by TRAINSET_KILL_AT."""
    if os.environ.get("TRAINSET_KILL_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
