"""Ingest: landed files read as they come, record by record if need be; language detection; raw and quarantine steps."""
