"""`trainset keygen`: create the pseudonymisation key outside the repository."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.lib.errors import describe_os_error
from pipelines.lib.privacy.pseudonymize import DEFAULT_KEY_PATH, generate_key


@click.command()
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_KEY_PATH, show_default=True)
def keygen(path: Path) -> None:
    """Write a random pseudonymisation key (mode 600) if none exists, and say how to use it."""
    existed = path.exists()
    try:
        generate_key(path)
    except OSError as error:  # a parent that is a file, a folder not writable, ...
        raise click.BadParameter(
            f"cannot write the key to {path}: {describe_os_error(error)}; choose another path", param_hint="--path"
        ) from None
    click.echo(f"{'kept existing' if existed else 'created'} key {path}")
    click.echo(f"use it with: export TRAINSET_PSEUDONYM_KEY_FILE={path}")
