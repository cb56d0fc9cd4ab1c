"""Steps of the privacy assets: redacted (minimised, redacted, pseudonymised, checked for PII
residue) and eligible (retention, erasure, consent, partner terms: `privacy.eligible`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.accounting import Accounting, RowAccounting
from pipelines.lib.batches import BatchedContract, counted_batches
from pipelines.lib.files import write_parquet
from pipelines.lib.membership import is_in
from pipelines.lib.privacy.eligible import build_eligible
from pipelines.lib.privacy.policies import dropped_columns, minimise_and_redact
from pipelines.lib.privacy.residue import ResidueFinding, find_residue
from pipelines.lib.privacy.residue_review import ResidueReview, review_residue
from pipelines.lib.quality import schemas
from pipelines.lib.quality.waivers import ResidueAllowance, load_allowances
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


def redact_partitions(
    paths: DatasetPaths, spec: DatasetSpec, partitions: list[str], key: bytes, rows: int | None = None
) -> RedactionBatch:
    """Minimise, redact and pseudonymise days of every source into the redacted zone (one file
    per day), vectorised. A raw day already minimised and redacted on the way in under the spec's
    rules (its `IngestReport.redaction`) is not redacted again: its counts are carried over.
    Writes a `RedactionReport` per day; returns them with the contract and PII-residue review of
    every day. Raises ValueError, before writing anything, when two sources hold one record id.

    The days are redacted a group of consecutive days at a time (at most `rows` rows, default
    `batches.BATCH_ROWS`; a bigger day alone), so memory is bounded by a group, not by the range;
    the files, reports, contract and review are those of one batch of every day. When the raw
    days differ in their Arrow schemas, or only some were redacted on the way in under the present
    rules, every day is redacted in one batch (whose types and redaction those are)."""
    ingest = {(p, s.name): _redaction_on_ingest(paths, s.name, p) for p in partitions for s in spec.sources}
    dropped_on_ingest = [c for r in ingest.values() if r is not None for c in r.dropped_columns]
    _refuse_shared_ids(_id_pairs(paths, spec, partitions), spec)
    groups = _day_groups(paths, spec, partitions, ingest, rows)
    allowances = load_allowances(paths.root, spec.name)
    wanted = pd.Series(sorted({a.row_id for a in allowances}), dtype="str")
    contract = BatchedContract(schemas.redacted_schema(spec))
    reports: list[RedactionReport] = []
    findings: list[ResidueFinding] = []
    scanned: set[str] = set()
    redacted_rows = 0
    result = None
    for group in groups:
        days, frame = _redact_days(paths, spec, [partitions[i] for i in group], key, ingest, dropped_on_ingest)
        reports += days
        redacted_rows += len(frame)
        findings += find_residue(frame, spec.columns.text, dataset=spec.name, id_column=spec.id_column)
        if allowances:  # a review asks only whether an allowance's row was scanned
            ids = frame[spec.id_column].astype("str")
            scanned.update(ids[is_in(ids, wanted)])
        if len(groups) > 1:
            contract.add(frame)
        else:
            result = schemas.validate(schemas.redacted_schema(spec), frame)
        del frame
    if result is None:
        day_files = [paths.redacted(p) for p in partitions]
        result = contract.result(lambda column: (pd.read_parquet(f, columns=[column])[column] for f in day_files))
    return RedactionBatch(
        days=reports,
        contract=result,
        pii_residue=_reviewed(
            paths, spec, findings, allowances, f"redacted {_day_range(partitions)}", redacted_rows, scanned
        ),
    )


def _day_groups(
    paths: DatasetPaths,
    spec: DatasetSpec,
    partitions: list[str],
    ingest: dict[tuple[str, str], IngestRedaction | None],
    rows: int | None,
) -> list[range]:
    """The days (positions in `partitions`) redacted together: groups of at most `rows` rows of
    every source when the raw days have one Arrow schema (so one frame of them all has the types
    each has alone) and were all, or none, redacted on the way in under the present rules (so
    each group is redacted as one frame of them all is); else one group of every day."""
    every = [range(len(partitions))] if partitions else []
    done = {r is not None and _same_rules(r, spec) for r in ingest.values()}
    files = [paths.raw(s.name, p) for p in partitions for s in spec.sources]
    if len(done) > 1 or not all(f.is_file() for f in files):
        return every
    schemas_read = [pq.read_schema(f) for f in files]
    if not all(s.equals(schemas_read[0], check_metadata=True) for s in schemas_read[1:]):
        return every
    counts = [sum(pq.ParquetFile(paths.raw(s.name, p)).metadata.num_rows for s in spec.sources) for p in partitions]
    return list(counted_batches(counts, rows))


def _redact_days(
    paths: DatasetPaths,
    spec: DatasetSpec,
    partitions: list[str],
    key: bytes,
    ingest: dict[tuple[str, str], IngestRedaction | None],
    dropped_on_ingest: list[str],
) -> tuple[list[RedactionReport], pd.DataFrame]:
    """Redact consecutive days in one vectorised batch; write each day and its report. Returns the
    reports and the batch's redacted rows."""
    parts, day_rows, done = [], [], []
    replaced_on_ingest: list[Counter] = []  # per day: what ingest already replaced, every source
    for partition in partitions:
        day, earlier = [], Counter[str]()
        for source in spec.sources:
            frame = pd.read_parquet(paths.raw(source.name, partition)).assign(**{SOURCE_COLUMN: source.name})
            redaction = ingest[(partition, source.name)]
            done.append(np.full(len(frame), redaction is not None and _same_rules(redaction, spec)))
            if redaction is not None:
                earlier.update(redaction.replaced)
            day.append(frame)
        parts += day
        day_rows.append(sum(map(len, day)))
        replaced_on_ingest.append(earlier)
    raw = pd.concat(parts, ignore_index=True)
    del parts
    frame, replaced = minimise_and_redact(raw, spec, key, redacted=pd.Series(np.concatenate(done), index=raw.index))
    dropped = list(dict.fromkeys([*dropped_columns(list(raw.columns), spec), *dropped_on_ingest]))
    Accounting(len(raw)).close(len(frame))  # redaction removes no row
    del raw
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
    return reports, frame


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


def _id_pairs(paths: DatasetPaths, spec: DatasetSpec, partitions: list[str]) -> pd.DataFrame:
    """Each source's distinct record ids over the raw days, a row per (id, source), read from the
    id column alone; no row with a single source (no id can be shared)."""
    if len(spec.sources) < 2:
        return pd.DataFrame(columns=[spec.id_column, SOURCE_COLUMN])
    pairs = []
    for source in spec.sources:
        ids = [pd.read_parquet(paths.raw(source.name, p), columns=[spec.id_column]) for p in partitions]
        held = pd.concat(ids, ignore_index=True).drop_duplicates() if ids else pd.DataFrame(columns=[spec.id_column])
        pairs.append(held.assign(**{SOURCE_COLUMN: source.name}))
    return pd.concat(pairs, ignore_index=True)


def _refuse_shared_ids(pairs: pd.DataFrame, spec: DatasetSpec) -> None:
    """Raise ValueError when two sources hold the same record id: every later step (labels,
    adjudication, splits, erasure) knows an example by its id alone. `pairs`: each (id, source)
    once (`_id_pairs`). Counts only, no id."""
    if len(spec.sources) < 2:
        return
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
    scanned = set(frame[spec.id_column].astype("str")) if allowances else set()
    return _reviewed(paths, spec, findings, allowances, scope, len(frame), scanned)


def _reviewed(
    paths: DatasetPaths,
    spec: DatasetSpec,
    findings: list[ResidueFinding],
    allowances: list[ResidueAllowance],
    scope: str,
    rows: int,
    scanned: set[str],
) -> ResidueReview:
    """Findings in `rows` scanned rows reviewed against the steward's allowances; `scanned` holds
    at least the ids of the scanned rows that an allowance names."""
    return review_residue(
        findings,
        allowances,
        datetime.now(UTC).date(),
        scope=scope,
        rows=rows,
        scanned_ids=scanned,
        stored_ids=lambda: stored_row_ids(paths, spec),
    )


def stored_row_ids(paths: DatasetPaths, spec: DatasetSpec) -> set[str]:
    """Ids of every row in the redacted zone (every stored day)."""
    files = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    return {str(v) for f in files for v in pd.read_parquet(f, columns=[spec.id_column])[spec.id_column]}
