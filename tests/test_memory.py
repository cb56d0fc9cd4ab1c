"""Memory a step freed goes back to the system before the next step runs in the same process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = textwrap.dedent(
    """
    import gc
    import numpy as np
    import pandas as pd
    from pipelines.lib.memory import release_unused_memory

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    start = rss_mb()
    # A step's text work: Arrow-backed strings (Arrow's pool) and numpy arrays (glibc's heap).
    texts = pd.concat(
        pd.DataFrame({"t": pd.Series(np.random.default_rng(i).integers(0, 10**12, 200_000).astype(str), dtype="str")})
        for i in range(20)
    )
    upper = texts["t"].str.upper()
    del texts, upper
    gc.collect()
    freed = rss_mb()
    release_unused_memory()
    print(start, freed, rss_mb())
    """
)


def test_the_memory_a_step_freed_is_returned_to_the_system():
    """Text columns of 4M values freed by a step stay in the allocators' free lists (RSS well
    above where it started); releasing gives most of it back."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=Path(__file__).parents[1], capture_output=True, text=True, check=True
    )
    start, freed, released = map(float, run.stdout.split())
    assert freed - start > 100, "the probe should leave freed memory in the allocators"
    assert released - start < (freed - start) / 2


def test_steps_allocate_from_arrows_jemalloc_pool_unless_the_environment_names_one():
    probe = (
        "import pyarrow as pa; from pipelines.lib.memory import prefer_jemalloc; "
        "print(prefer_jemalloc(), pa.array(['x']).nbytes > 0)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    chosen = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert chosen.stdout.split() == ["jemalloc", "True"]
    named = subprocess.run(
        [sys.executable, "-c", probe], env=env | {"ARROW_DEFAULT_MEMORY_POOL": "system"}, capture_output=True, text=True
    )
    assert named.stdout.split() == ["system", "True"]
