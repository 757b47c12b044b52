"""Importing case files (contract v1)."""

from frister.importer.jsonl import ImportStats, import_file

__all__ = ["ImportStats", "import_file"]
