"""Steps of the privacy assets: redacted (minimised, redacted, pseudonymised, checked for PII
residue) and eligible (retention, erasure, consent, partner terms)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.accounting import Accounting, NothingLeftError, RowAccounting, removal_summary
from pipelines.lib.batches import BatchedContract, OutOfOrderError, SortedBatches, day_batches, parquet_batches
from pipelines.lib.durations import cutoff
from pipelines.lib.files import StreamSchemaError, streamed_parquet, write_parquet
from pipelines.lib.partners.deletions import (
    DeleteLists,
    apply_partner_deletions,
    delete_lists,
    purge_partner_deletions,
)
from pipelines.lib.partners.eligibility import apply_partner_terms
from pipelines.lib.privacy.erasure import erased_pseudonyms
from pipelines.lib.privacy.policies import (
    apply_consent,
    apply_erasure,
    apply_retention,
    dropped_columns,
    load_opt_outs,
    minimise_and_redact,
)
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.privacy.residue import find_residue
from pipelines.lib.privacy.residue_review import ResidueReview, review_residue
from pipelines.lib.privacy.retention import expire_stored
from pipelines.lib.quality import schemas
from pipelines.lib.quality.waivers import load_allowances
from pipelines.lib.report_files import MissingReportError, read_ingest, write_eligibility, write_redaction
from pipelines.lib.reports import (
    ContractResult,
    EligibilityReport,
    IngestRedaction,
    PartnerUse,
    RedactionReport,
    RetentionOnStorage,
)
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths


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


# -- eligible ----------------------------------------------------------------------------------


def build_eligible(paths: DatasetPaths, spec: DatasetSpec, as_of: date, key: bytes) -> EligibilityReport:
    """Enforce retention and the partners' delete lists on storage, then apply retention, erasure,
    delete lists, consent and partner terms and decisions (`partners.eligibility`) to the redacted
    days; writes and returns the eligibility report (rows removed per reason, contract). Raises
    NothingLeftError when no row is left, DecisionRecordError or DeleteListError for a partner's
    record or list that cannot be read.

    The days are read, filtered and written a batch at a time (`batches.day_batches`), so memory is
    bounded by a batch, not by the history: each day's rows fall in that day, so the batches, each
    sorted, are in the global order. Should a batch start before the one before it ends, or the
    days differ in their columns' types, every day is read as one frame and sorted once instead."""
    expired = expire_stored(paths.root, spec, as_of)
    lists = delete_lists(paths.root, spec)  # read once: purged from storage, then left out of the build
    partner_deletions = purge_partner_deletions(paths, spec, key, lists)
    files = sorted((paths.warehouse / "redacted").glob("*.parquet"))
    rules = _EligibilityRules.load(paths, spec, as_of, key, lists)
    built = None
    if _same_schemas(files):
        try:
            built = _eligible_in_batches(paths, spec, files, rules)
        except (OutOfOrderError, StreamSchemaError):
            built = None
    if built is None:
        built = _eligible_at_once(paths, spec, files, rules)
    if not built.rows:
        raise NothingLeftError(_nothing_eligible(spec, as_of, built.accounting, expired))
    report = EligibilityReport(
        as_of=as_of,
        partitions=len(files),
        opted_out_users=rules.opted_out_users,
        erasure_requests=len(rules.erased),
        retention_storage=expired,
        partners=built.partners,
        partner_deletions=partner_deletions,
        accounting=built.accounting.close(built.rows),
        contract=built.contract,
    )
    write_eligibility(paths, report)
    return report


@dataclass(frozen=True)
class _EligibilityRules:
    """What decides which rows are eligible, read once for every batch: small sets of users and ids."""

    root: Path
    as_of: date
    key: bytes
    lists: dict[str, DeleteLists]
    erased: dict[str, str]
    opt_outs: pd.Series | None
    opted_out_users: int

    @classmethod
    def load(
        cls, paths: DatasetPaths, spec: DatasetSpec, as_of: date, key: bytes, lists: dict[str, DeleteLists]
    ) -> _EligibilityRules:
        """The erasure requests, the consent opt-outs (as pseudonyms) and the partners' delete lists."""
        # A dataset with no user column holds no one's id: no erasure request can name its rows.
        erased = erased_pseudonyms(paths.root, key) if spec.columns.user else {}
        opt_outs, opted_out = None, 0
        if spec.privacy.consent:
            consent = spec.privacy.consent
            written = load_opt_outs(paths.landing(consent.path), consent.user_column or str(spec.columns.user))
            opt_outs, opted_out = pseudonymize(written, key), len(written)
        return cls(paths.root, as_of, key, lists, erased, opt_outs, opted_out)

    def apply(
        self, frame: pd.DataFrame, spec: DatasetSpec, accounting: Accounting
    ) -> tuple[pd.DataFrame, list[PartnerUse]]:
        """The rows of `frame` that are eligible, each removal counted; and each partner source's use."""
        frame = apply_retention(frame, spec, self.as_of, accounting)
        frame = apply_erasure(frame, self.erased, spec, accounting)
        frame = apply_partner_deletions(frame, spec, self.lists, accounting, self.key)
        if self.opt_outs is not None:
            frame = apply_consent(frame, self.opt_outs, spec, accounting)
        return apply_partner_terms(frame, spec, self.root, self.as_of, accounting)


@dataclass(frozen=True)
class _Eligible:
    """What one build of eligible.parquet wrote: its rows, their accounting, partners and contract."""

    rows: int
    accounting: Accounting
    partners: list[PartnerUse]
    contract: ContractResult


def _eligible_in_batches(
    paths: DatasetPaths, spec: DatasetSpec, files: list[Path], rules: _EligibilityRules
) -> _Eligible:
    """eligible.parquet written a batch of days at a time, each batch sorted. Raises
    OutOfOrderError when a batch starts before the one before it ends (nothing is written then)."""
    accounting = Accounting(0)
    order = SortedBatches(_order(spec))
    contract = BatchedContract(schemas.redacted_schema(spec))
    uses: list[list[PartnerUse]] = []
    with streamed_parquet(paths.eligible) as out:
        for group in day_batches(files):
            frame = pq.ParquetDataset(group).read().to_pandas()
            accounting.rows_in += len(frame)
            frame, partners = rules.apply(frame, spec, accounting)
            uses.append(partners)
            frame = order.sort(frame)
            if not frame.empty:
                out.write(frame)
                contract.add(frame)
        if not out.rows:
            out.discard()
    rows = out.rows
    result = contract.result(lambda column: (b[column] for b in parquet_batches(paths.eligible, columns=[column])))
    return _Eligible(rows, accounting, _partners_over(uses), result if rows else _unchecked(spec))


def _eligible_at_once(paths: DatasetPaths, spec: DatasetSpec, files: list[Path], rules: _EligibilityRules) -> _Eligible:
    """eligible.parquet from every day read as one frame, sorted once."""
    frame = _redacted_days(files, spec)
    accounting = Accounting(len(frame))  # the row_accounting check compares it with the redacted days' stats
    frame, partners = rules.apply(frame, spec, accounting)
    if frame.empty:
        return _Eligible(0, accounting, partners, _unchecked(spec))
    frame = frame.sort_values(_order(spec), kind="stable").reset_index(drop=True)
    write_parquet(frame, paths.eligible)
    return _Eligible(len(frame), accounting, partners, schemas.validate(schemas.redacted_schema(spec), frame))


def _order(spec: DatasetSpec) -> list[str]:
    """The order of the eligible rows: by time, then id."""
    return [name for name in (spec.columns.timestamp, spec.id_column) if name is not None]


def _unchecked(spec: DatasetSpec) -> ContractResult:
    """The contract of no rows (never reported: a build that keeps no row raises)."""
    return ContractResult(schema=schemas.redacted_schema(spec).name or "schema", passed=True)


def _same_schemas(files: list[Path]) -> bool:
    """Every day is stored with the same Arrow schema, naming its rows' source: one frame of them
    all has the types each day has alone, so the days can be read a batch at a time."""
    if not files:
        return False
    first = pq.read_schema(files[0])
    return SOURCE_COLUMN in first.names and all(pq.read_schema(f).equals(first, check_metadata=True) for f in files[1:])


def _partners_over(batches: list[list[PartnerUse]]) -> list[PartnerUse]:
    """Each partner source's use over every batch: the same decision, rows and removals added up."""
    merged = []
    for uses in zip(*batches, strict=True):
        removed: Counter[str] = Counter()
        for use in uses:
            removed.update(use.removed)
        update = {"rows_in": sum(u.rows_in for u in uses), "removed": {k: n for k, n in removed.items() if n}}
        merged.append(uses[0].model_copy(update=update))
    return merged


def _redacted_days(files: list[Path], spec: DatasetSpec) -> pd.DataFrame:
    """The redacted days `files` as one frame, in their order: read in one Arrow pass when every
    day has the same schema (and so the same pandas types), else day by day (`_redacted_day`),
    which is slower and needs twice the memory (each day, then their concatenation)."""
    if not files:
        return _empty(spec)
    if _same_schemas(files):
        return pq.ParquetDataset(files).read().to_pandas()
    return pd.concat([_redacted_day(f, spec) for f in files], ignore_index=True)


def _redacted_day(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """One redacted day; a day written before rows named their source gets the dataset's only
    source (with several, which row came from which cannot be told: redacting the day again can)."""
    frame = pd.read_parquet(path)
    if SOURCE_COLUMN in frame.columns:
        return frame
    if len(spec.sources) > 1:
        raise ValueError(
            f"{path}: a redacted day without the {SOURCE_COLUMN!r} column, in a dataset of several sources; "
            f"redact its days again: `trainset run {spec.name} --from {spec.first_date}`"
        )
    frame.insert(1, SOURCE_COLUMN, spec.sources[0].name)
    return frame


def _nothing_eligible(spec: DatasetSpec, as_of: date, accounting: Accounting, storage: RetentionOnStorage) -> str:
    """Why no row is eligible, with the dates, and what to do."""
    retention = spec.privacy.retention.default
    before = cutoff(as_of, retention).date()
    expired = accounting.removed.get("retention_expired", 0) + accounting.removed.get("retention_expired_sensitive", 0)
    if accounting.rows_in and expired == accounting.rows_in:
        return (
            f"{spec.name}: all {accounting.rows_in} rows are before {before}, the oldest day retention "
            f"({retention} as of {as_of}) keeps: pass --as-of, or widen privacy.retention"
        )
    if not accounting.rows_in and storage.files_deleted:
        return (
            f"{spec.name}: every stored day is before {before}, the oldest day retention ({retention} as of {as_of}) "
            f"keeps, so it was deleted ({storage.files_deleted} files): pass --as-of, or widen privacy.retention"
        )
    if not accounting.rows_in:
        return (
            f"{spec.name}: no stored row to make eligible: every landed row was quarantined or no day was "
            "landed in range (`trainset gates` lists the quarantine reasons)"
        )
    return f"{spec.name}: no row of {accounting.rows_in} is eligible ({removal_summary(accounting.removed)})"


def _empty(spec: DatasetSpec) -> pd.DataFrame:
    columns = {name: pd.Series(dtype="str") for name in spec.stored_columns}
    if spec.columns.timestamp:
        columns[spec.columns.timestamp] = pd.Series(dtype="datetime64[us, UTC]")
    return pd.DataFrame(columns)
