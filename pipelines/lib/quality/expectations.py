"""Run a committed GX 1.x expectation suite (`expectations/<dataset>.json`) on a frame.

The suite is steward-owned data; values that the dataset spec declares (classes, languages, the
freshness bar) reach it as `$PARAMETER`s, so each threshold is written once, in the YAML.
GX logs and *skips* an expectation it cannot build: `load_suite` refuses a suite that lost any.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.lib.files import follow_folder, make_folder
from pipelines.lib.reports import ExpectationOutcome

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402


class SuiteError(RuntimeError):
    """A suite file is missing, malformed, or has expectations GX would silently skip."""


def load_suite(path: Path) -> gx.ExpectationSuite:
    """Load a suite file, failing loudly where GX would skip an invalid expectation."""
    if not path.is_file():
        raise SuiteError(f"expectation suite {path} not found; every dataset needs expectations/<name>.json")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    declared = raw.get("expectations", [])
    gx_logger = logging.getLogger("great_expectations.core.expectation_suite")
    previous, gx_logger.disabled = gx_logger.disabled, True
    try:
        suite = gx.ExpectationSuite(name=raw.get("name", path.stem), expectations=[])
        for index, item in enumerate(declared):
            try:
                suite.add_expectation_configuration(_configuration(item))
            except Exception as error:  # GX raises several unrelated types here
                raise SuiteError(f"{path}: expectation #{index} ({item.get('type')!r}) is invalid: {error}") from None
    finally:
        gx_logger.disabled = previous
    if len(suite.expectations) != len(declared):
        raise SuiteError(f"{path}: {len(declared)} expectations declared, {len(suite.expectations)} loaded")
    return suite


def _configuration(item: dict[str, Any]):
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationConfiguration(type=item["type"], kwargs=item.get("kwargs", {}), meta=item.get("meta", {}))


#: the arguments by which an expectation names the columns it reads
COLUMN_ARGUMENTS = ("column", "column_A", "column_B", "column_list")


def columns_read(suite: gx.ExpectationSuite, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the suite reads it: only the columns its expectations name, when each names
    its columns and none filters rows by a condition (which may read any column); else the whole
    frame. GX fingerprints every column of the frame it is given (a hash of each value): columns
    no expectation reads would only be hashed."""
    named: set[str] = set()
    for expectation in suite.expectations:
        arguments = expectation.configuration.kwargs
        if arguments.get("row_condition") or not any(arguments.get(name) for name in COLUMN_ARGUMENTS):
            return frame
        for name in COLUMN_ARGUMENTS:
            value = arguments.get(name)
            named.update([value] if isinstance(value, str) else value or [])
    return frame[[c for c in frame.columns if c in named]]


def run_suite(
    suite: gx.ExpectationSuite, frame: pd.DataFrame, parameters: dict[str, Any], docs_root: Path | None = None
) -> list[ExpectationOutcome]:
    """Validate `frame` against `suite`; with `docs_root`, in a file-backed GX project there whose
    checkpoint also rebuilds the Data Docs site (`gx/uncommitted/data_docs/local_site/`). GX is
    given only the columns the suite reads (`columns_read`)."""
    frame = columns_read(suite, frame)
    if docs_root is None:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        batch = (
            context.data_sources.add_pandas("trainset")
            .add_dataframe_asset(suite.name)
            .add_batch_definition_whole_dataframe("whole")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        results = batch.validate(suite, expectation_parameters=parameters).results
    else:
        results = _run_checkpoint(suite, frame, parameters, docs_root)
    outcomes = []
    for item in results:
        config = item.expectation_config
        assert config is not None  # GX sets it on every result of a suite validation
        outcomes.append(
            ExpectationOutcome(
                type=config.type,
                column=config.kwargs.get("column"),
                success=bool(item.success),
                observed=_observed(item.result),
            )
        )
    return outcomes


def _run_checkpoint(
    suite: gx.ExpectationSuite, frame: pd.DataFrame, parameters: dict[str, Any], docs_root: Path
) -> list:
    # GX writes its files with the umask's modes: they follow the dataset's folder once written.
    make_folder(docs_root / "gx")
    try:
        return _checkpoint_results(suite, frame, parameters, docs_root)
    finally:
        follow_folder(docs_root / "gx")


def _checkpoint_results(
    suite: gx.ExpectationSuite, frame: pd.DataFrame, parameters: dict[str, Any], docs_root: Path
) -> list:
    context = gx.get_context(mode="file", project_root_dir=str(docs_root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    _limit_docs_index(context)
    # The committed suite file stays the source of truth: the project's copy is replaced each run.
    stored = context.suites.add_or_update(gx.ExpectationSuite(name=suite.name, expectations=list(suite.expectations)))
    source = context.data_sources.add_or_update_pandas("trainset")
    asset = next((a for a in source.assets if a.name == suite.name), None) or source.add_dataframe_asset(suite.name)
    batch = next((b for b in asset.batch_definitions if b.name == "whole"), None)
    batch = batch or asset.add_batch_definition_whole_dataframe("whole")
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=stored)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=suite.name,
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters)
    return [item for run in result.run_results.values() for item in run.results]


#: validation results the Data Docs index lists, newest first. GX loads every result it lists to
#: build the index after each validation ("Limit validation results in Data Docs", GX's docs):
#: unbounded, a daily run would pay for every run before it. Older results stay stored under
#: gx/uncommitted/validations/, their pages stay built, and every run's gates are in gate_runs/.
DOCS_INDEX_RESULTS = 30


def _limit_docs_index(context) -> None:  # (FileDataContext)
    """Cap the index of the project's Data Docs site at `DOCS_INDEX_RESULTS` validation results
    (written to gx/great_expectations.yml once)."""
    site = context.list_data_docs_sites().get("local_site")
    if site is None:
        return
    index = dict(site.get("site_index_builder") or {"class_name": "DefaultSiteIndexBuilder"})
    if index.get("validation_results_limit") != DOCS_INDEX_RESULTS:
        index["validation_results_limit"] = DOCS_INDEX_RESULTS
        context.update_data_docs_site("local_site", {**site, "site_index_builder": index})


def _observed(result: dict[str, Any]) -> str | None:
    # Counts and aggregates only: partial_unexpected_list would echo row values.
    if "unexpected_count" in result:
        return f"{result['unexpected_count']} of {result.get('element_count')} rows unexpected"
    value = result.get("observed_value")
    return None if value is None or isinstance(value, list) else str(value)
