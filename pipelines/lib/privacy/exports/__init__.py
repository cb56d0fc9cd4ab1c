"""`trainset redact` on export files: CSV, JSONL and Parquet redacted and written back in their own format."""
