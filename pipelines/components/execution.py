"""How runs execute: in one process (the embedded default), or step by step on Celery workers.

The deployment (`deploy/`, `make deploy-local`) sets `TRAINSET_EXECUTOR=celery` in the
environment of its daemon, webserver and workers, so that the code location they all load builds
the same jobs on dagster-celery's executor; nothing else changes between the two. Read once, when
the definitions are built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

#: the executor every job runs on: `in_process` (default) or `celery`
EXECUTOR_ENV = "TRAINSET_EXECUTOR"
#: the Celery broker and result backend (default: the RabbitMQ server on loopback, results over it)
BROKER_ENV, BACKEND_ENV = "TRAINSET_CELERY_BROKER", "TRAINSET_CELERY_BACKEND"
#: days of a partitioned asset one run of a backfill processes (on Celery; default 31)
DAYS_PER_RUN_ENV = "TRAINSET_DAYS_PER_RUN"
# RabbitMQ gives a task back to the queue the moment the worker holding it dies; Redis only after
# its visibility timeout (an hour by default), which also re-delivers any step running longer.
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "rpc://"
# A month a run: each run costs a process start (seconds), so a year makes 12 runs, not 365.
DEFAULT_DAYS_PER_RUN = 31


class ExecutionError(ValueError):
    """The environment names an executor, or a number of days per run, that cannot be used."""


@dataclass(frozen=True)
class Execution:
    """The executor of every job and how a backfill's days are batched into runs."""

    executor: str = "in_process"
    broker: str = DEFAULT_BROKER
    backend: str = DEFAULT_BACKEND
    days_per_run: int = DEFAULT_DAYS_PER_RUN

    @classmethod
    def from_environment(cls) -> Execution:
        """The execution the environment declares. Raises ExecutionError naming the variable."""
        executor = os.environ.get(EXECUTOR_ENV, "in_process").strip() or "in_process"
        if executor not in ("in_process", "celery"):
            raise ExecutionError(f"{EXECUTOR_ENV}={executor!r}: use `in_process` (the default) or `celery`")
        days = os.environ.get(DAYS_PER_RUN_ENV, str(DEFAULT_DAYS_PER_RUN)).strip()
        if not days.isdigit() or int(days) < 1:
            raise ExecutionError(f"{DAYS_PER_RUN_ENV}={days!r}: give a whole number of days, 1 or more")
        broker = os.environ.get(BROKER_ENV) or DEFAULT_BROKER
        return cls(executor, broker, os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND, int(days))

    @property
    def distributed(self) -> bool:
        """Whether steps run in worker processes (each sets the workspace resource up for itself)."""
        return self.executor == "celery"

    def executor_def(self) -> dg.ExecutorDefinition:
        """Dagster's executor for every job."""
        if not self.distributed:
            return dg.in_process_executor
        from dagster_celery import celery_executor

        # A step whose worker is killed is lost to Celery (acks_late re-delivers it) or failed by
        # Dagster; either way Dagster's step retries run it again: steps are idempotent (day files
        # are written whole and renamed into place).
        return celery_executor.configured(
            {
                "broker": self.broker,
                "backend": self.backend,
                "retries": {"enabled": {}},
                "config_source": {"task_acks_late": True, "task_reject_on_worker_lost": True},
            }
        )

    def backfill_policy(self) -> dg.BackfillPolicy:
        """How a backfill batches the days of a day-by-day asset into runs: one run for the whole
        range in process; runs of `days_per_run` days on Celery, so the workers share them."""
        if not self.distributed:
            return dg.BackfillPolicy.single_run()
        return dg.BackfillPolicy.multi_run(max_partitions_per_run=self.days_per_run)
