"""Import of contract v1 files (JSON Lines, one case per line).

* **Streaming**: the file is read line by line and written in batches; memory does not
  grow with the file.
* **All or nothing** (the default): everything happens in one database transaction;
  if any record is invalid the transaction is rolled back, every problem is reported
  (file, line, case, field, what was expected) and nothing is written. Validation goes
  on after the first problem so that one run lists them all.
* **Idempotent**: each case's canonical JSON is hashed; a case whose hash is unchanged
  is skipped, so importing the same file twice changes nothing. A changed case is
  replaced whole (a newer export replaces that case's facts).
* **Confidential**: messages name fields, never values (a malformed birth date is not
  echoed).
* **Clean afterwards**: once committed, the tables in which rows were updated or
  deleted are maintained (:func:`frister.db.dialect.after_bulk_write`), so that the next
  night's reads of exactly the replaced cases do not step over their old row versions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from frister.db.dialect import after_bulk_write
from frister.errors import FristerError, ImportRejected, ValidationIssue
from frister.facts.contract import Case
from frister.facts.parse import is_header, parse_case, parse_header
from frister.store.facts import replace_cases, save_source, stored_fingerprints

BATCH = 1000
MAX_ISSUES_KEPT = 1000


@dataclass
class ImportStats:
    lines: int = 0
    cases: int = 0
    new: int = 0
    replaced: int = 0
    unchanged: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        return (f"{verb} {self.cases} case(s): {self.new} new, {self.replaced} replaced, "
                f"{self.unchanged} unchanged")


def fingerprint(case: Case, source: str | None = None) -> str:
    """A hash of the case's facts as validated (field order and defaults fixed by the
    contract) and of its source, so the same facts from the same source give the same
    fingerprint however the file spelled them."""
    return hashlib.sha256(f"{source or ''}\0{case.model_dump_json()}".encode("utf-8")).hexdigest()


def import_file(
    engine: Engine,
    path: Path | str,
    as_of: date,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportStats:
    """Import ``path``; raises :class:`ImportRejected` (nothing written) on any invalid record.

    ``progress(bytes_read, bytes_total)`` is called after each batch.
    """
    path = Path(path)
    display = path.name
    try:
        total_bytes = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise FristerError(f"{path}: cannot read: {exc.strerror}") from None

    stats = ImportStats(dry_run=dry_run)
    issues: list[ValidationIssue] = []
    issue_count = 0
    seen: dict[str, int] = {}  # case_id -> first line
    batch: list[tuple[Case, str]] = []
    bytes_read = 0
    rewritten: set[str] = set()  # tables with rows updated or deleted
    source: str | None = None  # named by a v2 header line

    def flush(conn) -> None:
        nonlocal batch
        if issue_count or not batch:
            batch = []
            return
        stored = stored_fingerprints(conn, [f.case_id for f, _ in batch])
        changed = []
        for facts, fp in batch:
            old = stored.get(facts.case_id)
            if old == fp:
                stats.unchanged += 1
            else:
                changed.append((facts, fp))
                if old is None:
                    stats.new += 1
                else:
                    stats.replaced += 1
        if not dry_run:
            rewritten.update(replace_cases(conn, changed, source))
        batch = []

    with handle, engine.connect() as conn:
        trans = conn.begin()
        try:
            for line_no, raw in enumerate(handle, 1):
                bytes_read += len(raw)
                if not raw.strip():
                    continue
                stats.lines += 1
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    facts, case_id, problems = None, None, [("(line)", "expected UTF-8 text")]
                else:
                    if stats.lines == 1 and is_header(text):  # contract v2: what the source delivers
                        header, problems = parse_header(text)
                        if header is not None:
                            source = header.source
                            save_source(conn, header)
                        issue_count += len(problems)
                        issues.extend(ValidationIssue(display, line_no, None, f, e) for f, e in problems)
                        stats.lines -= 1
                        continue
                    facts, case_id, problems = parse_case(text, as_of=as_of)
                if case_id is not None:
                    first = seen.get(case_id)
                    if first is not None:
                        problems = [*problems, ("case_id", f"expected each case once in a file (also on line {first})")]
                    else:
                        seen[case_id] = line_no
                if problems:
                    issue_count += len(problems)
                    for fld, expected in problems:
                        if len(issues) < MAX_ISSUES_KEPT:
                            issues.append(ValidationIssue(display, line_no, case_id, fld, expected))
                    continue
                stats.cases += 1
                batch.append((facts, fingerprint(facts, source)))
                if len(batch) >= BATCH:
                    flush(conn)
                    if progress:
                        progress(bytes_read, total_bytes)
            flush(conn)
            if progress:
                progress(bytes_read, total_bytes)
            if issue_count:
                raise ImportRejected(issues, issue_count)
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
    after_bulk_write(engine, rewritten)
    return stats
