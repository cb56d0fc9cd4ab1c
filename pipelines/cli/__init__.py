"""The `trainset` command: one module per verb, imported only when that verb runs."""

from __future__ import annotations

import importlib
import sys

import click

#: verb -> module defining a click command of the same name (`-` spelled `_`)
VERBS = {
    "init": "pipelines.cli.init",
    "generate": "pipelines.cli.generate",
    "keygen": "pipelines.cli.keygen",
    "run": "pipelines.cli.run",
    "gates": "pipelines.cli.gates",
    "pull": "pipelines.cli.pull",
    "versions": "pipelines.cli.versions",
    "landed": "pipelines.cli.landed",
    "redact": "pipelines.cli.redact",
    "forget": "pipelines.cli.forget",
    "dvc-stages": "pipelines.cli.dvc_stages",
    "budget": "pipelines.cli.budget",
    "plan-labeling": "pipelines.cli.plan_labeling",
    "import-labels": "pipelines.cli.import_labels",
    "adjudicate": "pipelines.cli.adjudicate",
    "feedback": "pipelines.cli.feedback",
    "assess-partner": "pipelines.cli.assess_partner",
    "deploy": "pipelines.cli.deploy",
    "backfill": "pipelines.cli.backfill",
    "audit": "pipelines.cli.audit",
}

# Errors whose message already says what, where and what to do: shown without a traceback.
# Named by module, so that listing them imports nothing: an error can only be raised once its
# module is loaded.
USER_ERRORS = {
    "pipelines.lib.quality.gate_report": ["GateReportError"],
    "pipelines.lib.privacy.erasure": ["ErasureError"],
    "pipelines.lib.release.withdrawal": ["WithdrawnError"],
    "pipelines.lib.privacy.exports.export_redaction": ["RedactFileError"],
    "pipelines.lib.catalog": ["SpecError"],
    "pipelines.lib.ingest.sources": ["SourceError"],
    "pipelines.lib.privacy.pseudonymize": ["MissingKeyError"],
    "pipelines.lib.release.vcs": ["VcsError"],
    "pipelines.lib.release.consume": ["IntegrityError"],
    "pipelines.lib.release.versions": ["ReleaseError"],
    "pipelines.lib.locks": ["LockedError"],
    "pipelines.lib.report_files": ["MissingReportError", "ReportError"],
    "pipelines.lib.files": ["TableError", "AccessError"],
    "pipelines.lib.quality.waivers": ["WaiverError"],
    "pipelines.lib.quality.expectations": ["SuiteError"],
    "pipelines.lib.labeling.plan": ["PlanError"],
    "pipelines.lib.labeling.guideline": ["GuidelineError"],
    "pipelines.lib.labeling.adjudication": ["DecisionError"],
    "pipelines.lib.labeling.importing": ["ImportUsageError"],
    "pipelines.lib.labeling.imported": ["LabelingInputError"],
    "pipelines.lib.feedback.report": ["FeedbackReportError"],
    "pipelines.lib.feedback.store": ["FeedbackStoreError"],
    "pipelines.feedback_runner": ["FeedbackNotDeclaredError"],
    "pipelines.lib.partners.sample": ["AssessmentError"],
    "pipelines.lib.partners.decisions": ["DecisionRecordError"],
    "pipelines.lib.partners.delete_lists": ["DeleteListError"],
    "pipelines.deployment.local": ["DeploymentError"],
    "pipelines.components.execution": ["ExecutionError"],
    "pipelines.lib.audit.verify": ["AuditChainError"],
}


class LazyGroup(click.Group):
    """A group whose commands are looked up by name in `modules` (name -> module defining a click
    command of that name, `-` spelled `_`), imported only when that command runs: `trainset redact`
    starts in about a second instead of loading Dagster, scikit-learn and Great Expectations for
    verbs it never runs."""

    def __init__(self, *args, modules: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.modules = modules

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.modules)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.modules:
            return None
        command: click.Command = getattr(importlib.import_module(self.modules[cmd_name]), cmd_name.replace("-", "_"))
        return command


@click.group(cls=LazyGroup, modules=VERBS, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """trainset: declarative, privacy-safe, quality-gated, versioned training datasets."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The user-error classes (a tuple, for `isinstance`) of the modules loaded so far, and the
    built-in ones: errors whose message already says what, where and what to do."""
    loaded = [
        getattr(sys.modules[module], name)
        for module, names in USER_ERRORS.items()
        if module in sys.modules
        for name in names
    ]
    return (*loaded, FileExistsError, FileNotFoundError, ValueError)


def main() -> None:
    """Entry point of the `trainset` console script. Exits with the verb's own code, click's for a
    usage error (2), 130 when interrupted, and for a user error (one line or a few, no traceback)
    the error's own code: 1 for bad data (records that cannot be read, a version that fails its
    integrity check), else 2. Any other exception (a bug) propagates with its traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except Exception as error:
        shown = _user_error(error)
        if shown is None:
            raise
        from pipelines.lib.errors import exit_code  # loaded only when there is an error to report

        click.echo(f"error: {_in_words(shown)}", err=True)
        sys.exit(exit_code(shown))


def _user_error(error: BaseException) -> BaseException | None:
    """The error to show without a traceback, or None: a user error, a file the OS refused, or a
    spec error that Dagster wrapped while loading the definitions (a spec's schedule is checked
    where Dagster builds it)."""
    if isinstance(error, user_errors()) or (isinstance(error, OSError) and error.filename is not None):
        return error
    spec_error = getattr(sys.modules.get("pipelines.lib.catalog"), "SpecError", None)
    if spec_error is not None and isinstance(error.__cause__, spec_error):
        return error.__cause__
    return None


def _in_words(error: BaseException) -> str:
    """The error's message; pydantic's and the OS's put in our words (see pipelines.lib.errors)."""
    from pipelines.lib.errors import describe_os_error, describe_validation

    validation = getattr(sys.modules.get("pydantic"), "ValidationError", None)
    if validation is not None and isinstance(error, validation):
        return f"{error.title}: {describe_validation(error)}"
    if isinstance(error, OSError) and error.filename is not None:
        return describe_os_error(error)
    return str(error)
