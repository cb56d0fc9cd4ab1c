"""`trainset forget`: record an erasure request and delete the user's stored rows now; or put a
partner's delete list where its source's lists land and delete the listed rows now."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import workspace_option
from pipelines.lib.audit.events import record_erasure
from pipelines.lib.catalog import dataset_specs, get_spec
from pipelines.lib.partners.deletions import place_delete_list, purge_partner_deletions, workspace_relative
from pipelines.lib.privacy.erasure import ERASURE_LOG, purge_user, record_request
from pipelines.lib.privacy.pseudonymize import load_key
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths, defs_folder


@click.command()
@click.argument("target", required=False, metavar="USER | [DATASET]")
@click.option("--reason", default="data subject request", show_default=True, help="Why (kept in the erasure log).")
@click.option(
    "--source",
    help="A partner source (`kind: partner`): apply its delete list FILE (with --ids) instead of erasing a user.",
)
@click.option(
    "--ids",
    "ids_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A delete list the partner sent by other means (CSV; a column of record ids: the dataset's id column "
    "as the partner names it, or `id`).",
)
@workspace_option
def forget(target: str | None, reason: str, source: str | None, ids_file: Path | None, workspace: Path) -> None:
    """Erase USER (the id as the exports write it): logged (as pseudonyms), excluded from every
    later version, and every earlier version holding the user is withdrawn at the next release.
    A dataset with no user column holds no one's id: it is named, and left as it is.

    With --source and --ids: the partner's delete list is copied to where the source's lists land
    (its `deletions:`) and the listed rows of that source are deleted from DATASET's stored zones at
    once (DATASET may be left out when one dataset declares the source); the next run releases
    without them and withdraws earlier versions that hold them. Counts are printed, never ids."""
    if source is not None or ids_file is not None:
        if source is None or ids_file is None:
            raise click.UsageError("--source and --ids go together: the partner source, and the delete list it sent")
        _forget_partner_rows(workspace, target, source, ids_file)
        return
    if target is None:
        raise click.UsageError(
            "name the USER to erase (the id as the exports write it), or give a partner's delete list with "
            "--source SOURCE --ids FILE"
        )
    _forget_user(target, reason, workspace)


def _forget_user(user: str, reason: str, workspace: Path) -> None:
    """Record the erasure request and delete the user's stored rows in every dataset."""
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
    record_erasure(workspace, request_id, deleted, reason)
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


def _forget_partner_rows(workspace: Path, dataset: str | None, source_name: str, ids_file: Path) -> None:
    """Put the delete list where the source's lists land and delete the listed rows now."""
    spec, spec_file = _dataset_declaring(workspace, dataset, source_name)
    source = next(s for s in spec.sources if s.name == source_name)
    if source.kind != "partner":
        raise click.UsageError(
            f"source {source_name!r} of {spec.name} is a `kind: {source.kind}` source: delete lists come from a "
            "partner (`kind: partner`); erase a person's rows with `trainset forget USER`"
        )
    if source.deletions is None:
        raise click.UsageError(
            f"partner source {source_name!r} of {spec.name} declares no `deletions:`, so no build would read the "
            f"list: declare where its delete lists land (e.g. `deletions: data/partners/{source_name}/deletions/`) "
            f"in {spec_file}, then run this again"
        )
    key = load_key(spec.privacy.key_env)  # checked before anything is copied or deleted
    placed, copied = place_delete_list(workspace, spec, source, ids_file.resolve())
    shown = workspace_relative(placed, workspace)
    purged = purge_partner_deletions(DatasetPaths(workspace, spec.name), spec, key)
    mine = next(s for s in purged.sources if s.source == source_name)
    listed = next(f for f in mine.lists if f.path == shown)
    click.echo(
        f"{'copied to' if copied else 'already at'} {shown}: {listed.ids} id(s) (sha256 {listed.sha256[:12]})"
        + ("" if copied else "; a list of the same bytes was there, nothing copied")
    )
    zones = ", ".join(f"{zone} {n}" for zone, n in mine.rows_deleted.items()) or "none"
    click.echo(
        f"  {spec.name}: {source_name}'s lists request {mine.ids_requested} id(s); stored rows deleted now: {zones}"
    )
    click.echo(
        f"  the next `trainset run {spec.name}` releases without them and withdraws earlier versions that hold them"
    )
    # The deliveries themselves are the partner's files as received, never rewritten: say where they still are.
    click.echo(
        f"  the delivery files under {source.path} are kept as received and still hold them (unredacted) until "
        "retention deletes them: delete or replace a delivery to remove them there too"
    )
    if not mine.rows_deleted:
        click.echo(
            f"note: no stored row of {source_name} is on its lists; rows that land later are left out all the same. "
            f"Check the ids are {source_name}'s record ids as its exports write them",
            err=True,
        )


def _dataset_declaring(workspace: Path, dataset: str | None, source: str) -> tuple[DatasetSpec, Path]:
    """The dataset named, or the one dataset that declares a source named `source`."""
    if dataset is not None:
        spec, path = get_spec(dataset, workspace)
        if all(s.name != source for s in spec.sources):
            raise click.UsageError(
                f"{spec.name} has no source named {source!r}; its sources: {', '.join(s.name for s in spec.sources)}"
            )
        return spec, path
    specs = dataset_specs(workspace).values()
    having = [(spec, path) for spec, path in specs if any(s.name == source for s in spec.sources)]
    if len(having) == 1:
        return having[0]
    if not having:
        raise click.UsageError(f"no dataset declared in {defs_folder(workspace)} has a source named {source!r}")
    raise click.UsageError(
        f"{', '.join(spec.name for spec, _ in having)} each declare a source named {source!r}: name the DATASET"
    )
