"""A help-desk export for the demo's second dataset: one file, shaped unlike ticket_triage's
landing zone, for `trainset init` to draft a dataset from.

Another tool's column names (`Ticket Number`, `Requester`, `Opened`, `Issue`, `Description`,
`Queue`), its own queue names, timestamps written `YYYY-MM-DD HH:MM`, the requester named in words,
no channel and no language column. The tickets themselves come from the demo's generator (with
another seed), so PII is planted in the text the same ways.

    python -m pipelines.synthetic.help_desk --out data/exports/help_desk.csv
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.lib.workspace import last_complete_day
from pipelines.synthetic.generate import GeneratorConfig, generate

#: the help desk's queues for the generator's classes
QUEUES = {"Billing": "Billing", "Technical": "Tech Support", "Account": "Accounts", "Other": "General"}


def help_desk_export(rows: int = 4000, seed: int = 29, as_of: date | None = None, days: int = 14) -> pd.DataFrame:
    """`rows` help-desk tickets opened over the `days` days up to `as_of` (default: yesterday,
    UTC), oldest first; the same arguments always give the same rows."""
    end = as_of or last_complete_day()
    tickets = generate(GeneratorConfig(rows=rows, seed=seed, as_of=end, months=1)).tickets
    created = pd.to_datetime(tickets["created_at"], format="%Y-%m-%dT%H:%M:%SZ")
    # The generator spreads tickets over a month: fold them into the last `days` days, in order.
    close = pd.Timestamp(end) + pd.Timedelta(days=1)
    span = (close - created.min()) if len(created) else pd.Timedelta(days=days)
    opened = close - (close - created) * (pd.Timedelta(days=days) / span)
    return pd.DataFrame(
        {
            "Ticket Number": (100_000 + pd.RangeIndex(len(tickets))).astype("str"),
            "Requester": tickets["customer_name"],
            "Opened": opened.dt.strftime("%Y-%m-%d %H:%M"),
            "Issue": tickets["subject"],
            "Description": tickets["body"],
            "Queue": tickets["category"].map(QUEUES),
        }
    )


def write_help_desk_export(path: Path, **options) -> Path:
    """Write `help_desk_export(**options)` as one CSV file at `path` (its folder created); returns it.
    The file is rewritten only when its bytes change, so a repeated demo lands nothing new."""
    text = help_desk_export(**options).to_csv(index=False, lineterminator="\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    """`python -m pipelines.synthetic.help_desk --out FILE [--rows N] [--as-of DAY]`."""
    parser = argparse.ArgumentParser(description="Write the demo's help-desk export: one CSV file.")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument("--rows", type=int, default=4000, help="tickets (default 4000)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="newest day (default: yesterday)")
    args = parser.parse_args(argv)
    path = write_help_desk_export(args.out, rows=args.rows, as_of=args.as_of)
    print(f"wrote a help-desk export of {args.rows} tickets up to {args.as_of or last_complete_day()}: {path}")


if __name__ == "__main__":
    main()
