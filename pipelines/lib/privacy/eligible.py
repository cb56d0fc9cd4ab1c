"""Step of the `eligible` asset: retention, erasure requests, the partners' delete lists,
consent opt-outs and partner terms applied to the redacted days, which are read, filtered and
written a batch of days at a time (`pipelines.lib.batches`), so that memory is bounded by a batch,
not by the history."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipelines.lib.accounting import Accounting, NothingLeftError, removal_summary
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
from pipelines.lib.privacy.policies import apply_consent, apply_erasure, apply_retention, load_opt_outs
from pipelines.lib.privacy.pseudonymize import pseudonymize
from pipelines.lib.privacy.retention import expire_stored
from pipelines.lib.quality import schemas
from pipelines.lib.report_files import write_eligibility
from pipelines.lib.reports import ContractResult, EligibilityReport, PartnerUse, RetentionOnStorage
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths


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
    if not out.rows:
        return _Eligible(0, accounting, _partners_over(uses), _unchecked(spec))
    result = contract.result(lambda column: (b[column] for b in parquet_batches(paths.eligible, columns=[column])))
    return _Eligible(out.rows, accounting, _partners_over(uses), result)


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
