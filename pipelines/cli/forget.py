"""`trainset forget`: record an erasure request and delete the user's stored rows now."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.catalog import dataset_specs
from pipelines.lib.privacy.erasure import ERASURE_LOG, purge_user, record_request
from pipelines.lib.privacy.pseudonymize import load_key
from pipelines.lib.workspace import defs_folder


@click.command()
@click.argument("user")
@click.option("--reason", default="data subject request", show_default=True, help="Why (kept in the erasure log).")
@workspace_option
def forget(user: str, reason: str, workspace: Path) -> None:
    """Erase USER (the id as the exports write it): logged (as pseudonyms), excluded from every
    later version, and every earlier version holding the user is withdrawn at the next release.
    A dataset with no user column holds no one's id: it is named, and left as it is."""
    specs = dataset_specs(workspace)
    if not specs:
        # An erasure request recorded against no dataset would be proof of nothing.
        raise click.UsageError(
            f"no dataset is declared in {defs_folder(workspace)}, so there is nothing to erase "
            f"the user from; pass the --workspace that declares your datasets"
        )
    by_user = {name: spec for name, (spec, _) in specs.items() if spec.columns.user is not None}
    for name in sorted(specs.keys() - by_user.keys()):
        click.echo(f"  {name}: declares no user column, so no example can be matched to a person; nothing erased")
    if not by_user:
        # A request recorded under no key could never be applied: record none, and say so.
        click.echo("nothing recorded: no declared dataset has a user column")
        return
    keys = {name: load_key(spec.privacy.key_env) for name, spec in by_user.items()}
    request_id = record_request(workspace, user, keys, reason)
    deleted, events = {}, {}
    for name, spec in by_user.items():
        deleted[name], tickets = purge_user(
            workspace, name, str(spec.columns.user), user, keys[name], id_column=spec.columns.id
        )
        if spec.feedback is not None:  # the events about the user's tickets, where they are logged
            events[name] = _delete_events(spec, workspace, tickets)
    click.echo(f"recorded {request_id} in {workspace / ERASURE_LOG} (pseudonyms only, not the id)")
    for name, rows in deleted.items():
        click.echo(
            f"  {name}: {rows} stored row(s) deleted now; the next `trainset run {name}` releases without the user"
        )
        if name in events:
            click.echo(
                f"  {name}: {events[name]} feedback event(s) about the user's tickets deleted from the event store"
            )
        click.echo("  and withdraws earlier versions that hold them (deleted from the DVC cache and remote)")
    if not any(deleted.values()):
        # Recorded all the same: the user's rows are kept out of every later export too. But a
        # mistyped id matches nobody, so say so rather than let it pass as done.
        click.echo(
            "note: the id given matched no stored row of any dataset; check it is the id as the exports write it "
            "(the request stays recorded and applies to rows that land later)",
            err=True,
        )


def _delete_events(spec, workspace: Path, tickets: set[str]) -> int:
    """Delete the events about `tickets` from the dataset's event store (none where no store was
    ever created). Raises FeedbackStoreError when the store cannot be reached: the request is
    recorded, and running `trainset forget` again finishes it."""
    from pipelines.lib.feedback.store import FeedbackStore

    store = FeedbackStore.for_dataset(spec, workspace)
    if store.current_revision() is None:
        return 0
    return store.delete_tickets(tickets)
