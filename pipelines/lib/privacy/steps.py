"""Steps of the privacy assets: redacted (minimised, redacted, pseudonymised, checked for PII
residue) and eligible (retention, erasure, consent, partner terms: `privacy.eligible`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from pipelines.lib.accounting import Accounting, RowAccounting
from pipelines.lib.files import write_parquet
from pipelines.lib.privacy.eligible import build_eligible
from pipelines.lib.privacy.policies import dropped_columns, minimise_and_redact
from pipelines.lib.privacy.residue import find_residue
from pipelines.lib.privacy.residue_review import ResidueReview, review_residue
from pipelines.lib.quality import schemas
from pipelines.lib.quality.waivers import load_allowances
from pipelines.lib.report_files import MissingReportError, read_ingest, write_redaction
from pipelines.lib.reports import ContractResult, IngestRedaction, RedactionReport
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths

__all__ = ["RedactionBatch", "build_eligible", "check_residue", "redact_partitions", "stored_row_ids"]


@dataclass(frozen=True)
class RedactionBatch:
    """What one redacted materialization wrote: each day's report, the contract and the residue review."""

    days: list[RedactionReport]
    contract: ContractResult
    pii_residue: ResidueReview

    @property
    def accounting(self) -> RowAccounting:
        """The batch's rows: redaction removes none."""
        return RowAccounting.total(d.accounting for d in self.days)

    @property
    def replaced(self) -> dict[str, int]:
        """Values replaced in the batch, by PII type."""
        total: dict[str, int] = {}
        for day in self.days:
            for kind, n in day.replaced.items():
                total[kind] = total.get(kind, 0) + n
        return total

    @property
    def dropped_columns(self) -> list[str]:
        """Columns minimisation dropped, sorted."""
        return sorted({c for d in self.days for c in d.dropped_columns})


# -- redacted ----------------------------------------------------------------------------------


def redact_partitions(paths: DatasetPaths, spec: DatasetSpec, partitions: list[str], key: bytes) -> RedactionBatch:
    """Minimise, redact and pseudonymise days of every source into the redacted zone (one file
    per day), in one vectorised batch. A raw day already minimised and redacted on the way in
    under the spec's rules (its `IngestReport.redaction`) is not redacted again: its counts are
    carried over. Writes a `RedactionReport` per day; returns them with the batch's contract and
    PII-residue review."""
    parts, day_rows, done, dropped_on_ingest = [], [], [], []
    replaced_on_ingest: list[Counter] = []  # per day: what ingest already replaced, every source
    for partition in partitions:
        day, earlier = [], Counter[str]()
        for source in spec.sources:
            frame = pd.read_parquet(paths.raw(source.name, partition)).assign(**{SOURCE_COLUMN: source.name})
            redaction = _redaction_on_ingest(paths, source.name, partition)
            done.append(np.full(len(frame), redaction is not None and _same_rules(redaction, spec)))
            if redaction is not None:
                earlier.update(redaction.replaced)
                dropped_on_ingest += redaction.dropped_columns
            day.append(frame)
        parts += day
        day_rows.append(sum(map(len, day)))
        replaced_on_ingest.append(earlier)
    raw = pd.concat(parts, ignore_index=True)
    _refuse_shared_ids(raw, spec)
    frame, replaced = minimise_and_redact(raw, spec, key, redacted=pd.Series(np.concatenate(done), index=raw.index))
    dropped = list(dict.fromkeys([*dropped_columns(list(raw.columns), spec), *dropped_on_ingest]))
    # The batch is the days in order: each day is one slice of it (no pass over the batch per day).
    ends = np.cumsum(day_rows, dtype=int)
    reports = []
    for partition, start, end, earlier in zip(partitions, ends - day_rows, ends, replaced_on_ingest, strict=True):
        part = frame.iloc[start:end]
        write_parquet(part, paths.redacted(partition))
        counts = Counter({str(t): int(n) for t, n in replaced.iloc[start:end].sum().items()})
        counts.update(earlier)
        report = RedactionReport(
            partition=partition,
            accounting=Accounting(len(part)).close(len(part)),
            replaced=dict(counts),
            dropped_columns=dropped,
        )
        write_redaction(paths, report)
        reports.append(report)
    Accounting(len(raw)).close(len(frame))  # redaction removes no row
    return RedactionBatch(
        days=reports,
        contract=schemas.validate(schemas.redacted_schema(spec), frame),
        pii_residue=check_residue(paths, spec, frame, f"redacted {_day_range(partitions)}"),
    )


def _redaction_on_ingest(paths: DatasetPaths, source: str, partition: str) -> IngestRedaction | None:
    """How a raw day was minimised and redacted on the way in; None: it holds the text as written
    (`privacy.keep_raw`, or a day stored before redaction moved to ingest)."""
    try:
        return read_ingest(paths, source, partition).redaction
    except MissingReportError:
        return None


def _same_rules(redaction: IngestRedaction, spec: DatasetSpec) -> bool:
    """Whether a day was redacted under the spec's present rules; if not it is redacted again, and
    a PII type added to `privacy.redact` since is found (one removed cannot be put back: the raw day
    holds its placeholders until it is landed again)."""
    return (redaction.pii_types, redaction.regions) == (list(spec.privacy.redact), spec.phone_regions)


def _refuse_shared_ids(raw: pd.DataFrame, spec: DatasetSpec) -> None:
    """Raise ValueError when two sources hold the same record id: every later step (labels,
    adjudication, splits, erasure) knows an example by its id alone. Counts only, no id."""
    if len(spec.sources) < 2:
        return
    pairs = raw[[spec.id_column, SOURCE_COLUMN]].drop_duplicates()
    shared = pairs[spec.id_column].duplicated(keep=False)
    if shared.any():
        sources = sorted(set(pairs.loc[shared, SOURCE_COLUMN]))
        raise ValueError(
            f"{pairs.loc[shared, spec.id_column].nunique()} record id(s) of {spec.id_column!r} are held by more "
            "than one of the "
            f'sources {", ".join(sources)}; declare `id_prefix:` on one of them (e.g. `id_prefix: "{sources[-1]}:"`) '
            "so that each source's ids stay its own"
        )


def _day_range(partitions: list[str]) -> str:
    return partitions[0] if len(partitions) == 1 else f"{partitions[0]}..{partitions[-1]}"


def check_residue(paths: DatasetPaths, spec: DatasetSpec, frame: pd.DataFrame, scope: str) -> ResidueReview:
    """Residue findings in the redacted rows, reviewed against the steward's allowances."""
    findings = find_residue(frame, spec.columns.text, dataset=spec.name, id_column=spec.id_column)
    allowances = load_allowances(paths.root, spec.name)
    return review_residue(
        findings,
        allowances,
        datetime.now(UTC).date(),
        scope=scope,
        rows=len(frame),
        scanned_ids=set(frame[spec.id_column].astype("str")) if allowances else set(),
        stored_ids=lambda: stored_row_ids(paths, spec),
    )


def stored_row_ids(paths: DatasetPaths, spec: DatasetSpec) -> set[str]:
    """Ids of every row in the redacted zone (every stored day)."""
    files = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    return {str(v) for f in files for v in pd.read_parquet(f, columns=[spec.id_column])[spec.id_column]}
