"""What a deployment's processes use: the RSS and CPU time of every process descending from its
daemon, webserver and workers (code servers, run processes, Celery pool processes), sampled from
/proc in a background thread. Linux only.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Self, TypeVar

#: how often the tree is sampled, seconds
SAMPLE_SECONDS = 0.2
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


T = TypeVar("T")

#: a process of the tree: its pid and start time (pids are reused)
Process = tuple[int, int]


@dataclass(frozen=True)
class Seen:
    """A process in one sample: the root it descends from, what it is, its RSS (kB) and its CPU
    seconds so far."""

    root: str
    kind: str
    rss_kb: int
    cpu_seconds: float


@dataclass
class Usage:
    """What the tree used over a while: CPU seconds, the peak RSS summed over its processes, and
    per kind of process the peak of any one of them and of all of them together (MB)."""

    cpu_seconds: float = 0.0
    peak_mb: float = 0.0
    one_process_mb: dict[str, float] = field(default_factory=dict)
    kind_mb: dict[str, float] = field(default_factory=dict)


def _stat(pid: int) -> tuple[int, int, float, int] | None:
    """(parent pid, start time in ticks, CPU seconds, RSS kB) of a process; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    cpu = (int(fields[11]) + int(fields[12])) / _TICK
    return int(fields[1]), int(fields[19]), cpu, int(fields[21]) * _PAGE_KB


def kind_of(root: str, pid: int, is_root: bool) -> str:
    """What a process of the tree is, from the root it descends from and its command line:
    `worker` (either worker), `worker pool process`, `run process`, `daemon's code server`..."""
    base = re.sub(r"^worker\d+$", "worker", root)
    if is_root:
        return base
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        command = ""
    # A code server starts each run in a process of its own (multiprocessing's spawn).
    if "execute_run" in command or "spawn_main" in command:
        return "run process"
    if " grpc" in command:
        return f"{base}'s code server"
    if base == "worker" and "celery" in command:
        return "worker pool process"
    return f"{base}'s child"


class PeriodicSampler(Generic[T]):
    """Calls `take()` every `interval` seconds in a background thread while its `with` block runs,
    keeping `(time.time(), what it returned)` in `samples`."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.samples: list[tuple[float, T]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def take(self) -> T:
        """One sample."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.take()))
            self._stop.wait(self.interval)


class TreeSampler(PeriodicSampler[dict[Process, Seen]]):
    """Samples every process descending from the roots that `roots()` names (name: pid) at each
    sample, every `interval` seconds, in a background thread (`with TreeSampler(...) as s:`)."""

    def __init__(self, roots: Callable[[], dict[str, int]], interval: float = SAMPLE_SECONDS) -> None:
        super().__init__(interval)
        self.roots = roots

    def take(self) -> dict[Process, Seen]:
        """Every process of the tree now (`sample`)."""
        return self.sample()

    def sample(self) -> dict[Process, Seen]:
        """Every process of the tree now. Its kind is read at every sample: a process just forked
        holds its parent's command line until it execs."""
        table = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
                table[int(entry.name)] = stat
        children = defaultdict(list)
        for pid, (parent, *_) in table.items():
            children[parent].append(pid)
        seen: dict[Process, Seen] = {}
        for root, root_pid in self.roots().items():
            stack = [root_pid] if root_pid in table else []
            while stack:
                pid = stack.pop()
                _, started, cpu, rss = table[pid]
                seen[(pid, started)] = Seen(root, kind_of(root, pid, pid == root_pid), rss, cpu)
                stack.extend(children.get(pid, []))
        return seen

    def usage(self, start: float, end: float, root: str | None = None) -> Usage:
        """What the tree used between two instants (`time.time()`), or only the processes
        descending from `root` (`worker1`: a step's worker). CPU time is counted to each process's
        last sample: a process that ends between two samples loses at most an interval."""

        def kept(processes: dict[Process, Seen]) -> dict[Process, Seen]:
            return {key: seen for key, seen in processes.items() if root in (None, seen.root)}

        inside = [kept(processes) for t, processes in self.samples if start <= t <= end]
        before = [kept(processes) for t, processes in self.samples if t < start][-1:]
        usage = Usage()
        last_cpu: dict[Process, float] = {}
        for processes in inside:
            usage.peak_mb = max(usage.peak_mb, sum(p.rss_kb for p in processes.values()) / 1024)
            by_kind: dict[str, float] = defaultdict(float)
            for process, seen in processes.items():
                mb = seen.rss_kb / 1024
                usage.one_process_mb[seen.kind] = max(usage.one_process_mb.get(seen.kind, 0.0), mb)
                by_kind[seen.kind] += mb
                last_cpu[process] = seen.cpu_seconds
            for kind, mb in by_kind.items():
                usage.kind_mb[kind] = max(usage.kind_mb.get(kind, 0.0), mb)
        cpu_before = {process: seen.cpu_seconds for process, seen in (before[0] if before else {}).items()}
        usage.cpu_seconds = sum(cpu - cpu_before.get(process, 0.0) for process, cpu in last_cpu.items())
        return usage
