"""Ingest: landed source files read as they come, record by record if need be, and language as measured."""
