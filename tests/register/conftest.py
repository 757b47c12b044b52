"""Fixtures of the register-XML tests: SSB's schema (read where the operator keeps it,
never copied into the repository) and folders of generated documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_NAME = "Barnevern_v4.0.1.xsd"


def schema_path() -> Path | None:
    """FRISTER_REGISTER_XSD, else ../shared/register/ beside the repository."""
    named = os.environ.get("FRISTER_REGISTER_XSD")
    candidates = [Path(named)] if named else []
    candidates += [ROOT.parent / "shared" / "register" / SCHEMA_NAME, ROOT.parents[1] / "shared" / "register" / SCHEMA_NAME]
    return next((p for p in candidates if p.is_file()), None)


@pytest.fixture(scope="session")
def register_xsd() -> Path:
    path = schema_path()
    if path is None:
        pytest.skip(f"SSB's schema {SCHEMA_NAME} not found: set FRISTER_REGISTER_XSD or place it in ../shared/register/")
    return path
