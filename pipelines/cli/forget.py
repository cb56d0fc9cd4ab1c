"""`trainset forget`: record an erasure request and delete the user's stored rows now."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.catalog import dataset_specs
from pipelines.lib.privacy.erasure import ERASURE_LOG, purge_stored_rows, record_request
from pipelines.lib.privacy.pseudonymize import load_key


@click.command()
@click.argument("user_id")
@click.option("--reason", default="data subject request", show_default=True, help="Why (kept in the erasure log).")
@workspace_option
def forget(user_id: str, reason: str, workspace: Path) -> None:
    """Erase USER_ID: logged (as pseudonyms), excluded from every later version, and every
    earlier version holding the user is withdrawn at the next release."""
    specs = dataset_specs(workspace)
    keys = {name: load_key(spec.privacy.key_env) for name, (spec, _) in specs.items()}
    request_id = record_request(workspace, user_id, keys, reason)
    deleted = {
        name: purge_stored_rows(workspace, name, spec.columns.user, user_id, keys[name])
        for name, (spec, _) in specs.items()
    }
    click.echo(f"recorded {request_id} in {workspace / ERASURE_LOG} (pseudonyms only, not the id)")
    for name, rows in deleted.items():
        click.echo(
            f"  {name}: {rows} stored row(s) deleted now; the next `trainset run {name}` releases without the user"
        )
        click.echo("  and withdraws earlier versions that hold them (deleted from the DVC cache and remote)")
