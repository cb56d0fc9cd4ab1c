"""The `trainset` command: one module per verb."""

from __future__ import annotations

import sys

import click

from pipelines.cli.forget import forget
from pipelines.cli.gates import gates
from pipelines.cli.generate import generate
from pipelines.cli.keygen import keygen
from pipelines.cli.pull import pull
from pipelines.cli.redact import redact
from pipelines.cli.run import run
from pipelines.cli.versions import versions
from pipelines.lib.catalog import SpecError
from pipelines.lib.consume import IntegrityError
from pipelines.lib.erasure import ErasureError, WithdrawnError
from pipelines.lib.gate_report import GateReportError
from pipelines.lib.locks import LockedError
from pipelines.lib.pseudonymize import MissingKeyError
from pipelines.lib.redact_file import RedactFileError
from pipelines.lib.release import ReleaseError
from pipelines.lib.sources import SourceError
from pipelines.lib.vcs import VcsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """trainset: declarative, privacy-safe, quality-gated, versioned training datasets."""


for command in (generate, keygen, run, gates, pull, versions, redact, forget):
    cli.add_command(command)

# Errors whose message already says what, where and what to do: shown without a traceback.
USER_ERRORS = (
    GateReportError,
    WithdrawnError,
    ErasureError,
    RedactFileError,
    SpecError,
    SourceError,
    MissingKeyError,
    VcsError,
    IntegrityError,
    ReleaseError,
    LockedError,
    FileExistsError,
    FileNotFoundError,
    ValueError,
)


def main() -> None:
    """Entry point of the `trainset` console script."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except USER_ERRORS as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
