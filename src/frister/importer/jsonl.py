"""Import of contract files (JSON Lines, one case per line; v2 may begin with a header line).

* **Streaming**: the file is read line by line and written in batches; memory does not
  grow with the file (but for the set of the file's case ids).
* **All or nothing**: everything happens in one database transaction; if any record
  is invalid the transaction is rolled back, every problem is reported (file, line,
  case, field, what was expected) and nothing is written. Validation goes on after the
  first problem so that one run lists them all. Each line is validated by
  :func:`frister.facts.parse.parse_case`; this module owns the file around it.
* **UTF-8 only**: a byte that is not UTF-8 (or a NUL byte, as in UTF-16) refuses the
  file at once, naming the byte offset; a UTF-8 byte-order mark is allowed.
* **Nothing passes silently**: a file without a case is refused unless
  ``allow_empty``; orderings the contract allows but a case system should not record
  (:func:`frister.facts.parse.implausible`) are counted and listed as warnings, or
  refused with ``strict``.
* **Full exports**: with ``full`` the file is the complete set, and stored cases absent
  from it are removed (:func:`frister.store.facts.remove_cases`). A full import that
  holds no case, or that would remove more than ``max_removed_share`` of the stored
  cases, is refused unless ``allow_shrink``: a truncated export must not empty the
  database.
* **One writer at a time**: an import holds the run lock (:func:`frister.db.locks.run_lock`)
  for its whole duration, waiting up to ``lock_wait`` seconds for a night, a purge or
  another import to finish.
* **Idempotent**: each case's canonical JSON is hashed; a case whose hash is unchanged
  is skipped, so importing the same file twice changes nothing. A changed case is
  replaced whole (a newer export replaces that case's facts).
* **Contract v2 header**: a first line ``{"frister_export": 2, "source": …}`` says which
  source the cases come from, from when its history is complete and which facts it never
  delivers (:func:`frister.facts.parse.parse_header`); it is stored with the cases.
* **Confidential**: messages name fields, never values (a malformed birth date is not
  echoed).
* **Clean afterwards**: once committed, the tables in which rows were updated or
  deleted are maintained (:func:`frister.db.dialect.after_bulk_write`), so that the next
  night's reads of exactly the replaced cases do not step over their old row versions.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import Connection, Engine

from frister.db.dialect import after_bulk_write
from frister.db.locks import run_lock
from frister.errors import FristerError, ImportRefused, ImportRejected, ValidationIssue
from frister.facts.contract import Case
from frister.facts.parse import implausible, is_header, parse_case, parse_header
from frister.settings import DEFAULT_MAX_REMOVED_PERCENT
from frister.store.facts import (case_count, remove_cases, replace_cases, save_source, stored_case_ids,
                                 stored_fingerprints)
from frister.store.tables import FACT_TABLES

BATCH = 1000
MAX_ISSUES_KEPT = 1000
WARNINGS_SHOWN = 50
BOM = b"\xef\xbb\xbf"
UTF8_ONLY = "the import contract is UTF-8 (a byte-order mark is allowed); nothing was written"


@dataclass
class ImportStats:
    lines: int = 0
    cases: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    dry_run: bool = False
    warnings: list[ValidationIssue] = field(default_factory=list)  # the first MAX_ISSUES_KEPT
    warning_count: int = 0

    def summary(self) -> str:
        """One line of counts; then the implausible dates, by case and field."""
        verb = "would import" if self.dry_run else "imported"
        line = (f"{verb} {self.cases} case(s): {self.new} new, {self.changed} changed, "
                f"{self.unchanged} unchanged, {self.removed} removed")
        if not self.warning_count:
            return line
        lines = [f"{line}; {self.warning_count} implausible date(s), imported (--strict refuses them):"]
        lines += [f"warning: {w}" for w in self.warnings[:WARNINGS_SHOWN]]
        if self.warning_count > WARNINGS_SHOWN:
            lines.append(f"... and {self.warning_count - WARNINGS_SHOWN} more")
        return "\n".join(lines)


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
    *,
    full: bool = False,
    allow_shrink: bool = False,
    allow_empty: bool = False,
    strict: bool = False,
    max_removed_share: float = DEFAULT_MAX_REMOVED_PERCENT / 100,
    lock_wait: float = 0,
) -> ImportStats:
    """Import ``path`` (see the module docstring for the options).

    Raises :class:`ImportRejected` (invalid records), :class:`ImportRefused` (the file
    as a whole: not UTF-8, empty, a full export that shrinks too much) or
    :class:`~frister.errors.RunInProgress` (the lock); in each case nothing is written.
    ``progress(bytes_read, bytes_total)`` is called after each batch. A dry run takes no
    lock and writes nothing, but counts and refuses as the import would.
    """
    path = Path(path)
    try:
        total_bytes = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise FristerError(f"{path}: cannot read: {exc.strerror}") from None
    with handle, importing(engine, dry_run, lock_wait) as w:
        run = _Import(path.name, as_of, dry_run, strict, progress, total_bytes)
        stored_before = case_count(w.conn) if full else 0
        run.read(w.conn, handle)
        stats = run.stats
        if full:
            gone = [c for c in stored_case_ids(w.conn) if c not in run.seen]
            if not allow_shrink:
                _guard_shrink(path.name, stats.cases, len(gone), stored_before, max_removed_share)
            stats.removed = len(gone)
            if gone and not dry_run:
                remove_cases(w.conn, gone)
                run.rewritten.update(t.name for t in FACT_TABLES)
        elif not stats.lines and not allow_empty:
            raise ImportRefused(f"{path.name}: no case in the file; nothing was written "
                                "(--allow-empty accepts an empty file)")
    after_bulk_write(engine, run.rewritten)
    return stats


class Importing:
    """An import's connection and transaction (see :func:`importing`)."""

    def __init__(self, conn: Connection, keep: bool):
        self.conn, self.keep = conn, keep
        self.trans = conn.begin()

    def commit_so_far(self) -> None:
        """Commit what is written so far and go on in a new transaction."""
        self.trans.commit()
        self.trans = self.conn.begin()


@contextmanager
def importing(engine: Engine, dry_run: bool, lock_wait: float) -> Iterator[Importing]:
    """The import lock (not for a dry run), a connection and a transaction that is
    committed when the block ends with ``keep`` true (false from the start in a dry run)
    and rolled back otherwise, or on any exception."""
    with nullcontext() if dry_run else run_lock(engine, lock_wait, what="import"), engine.connect() as conn:
        w = Importing(conn, keep=not dry_run)
        try:
            yield w
        except BaseException:
            if w.trans.is_active:
                w.trans.rollback()
            raise
        if w.keep:
            w.trans.commit()
        else:
            w.trans.rollback()


def _guard_shrink(name: str, cases: int, removed: int, stored: int, share: float) -> None:
    """Refuse a full import that holds no case, or that would remove more than
    ``share`` of the ``stored`` cases: the export is more likely cut short than the
    service that small."""
    if not cases:
        raise ImportRefused(f"{name}: a full import holds no case; it would remove all {stored} stored case(s); "
                            "nothing was written (--allow-shrink if that is meant)")
    if removed > share * stored:
        raise ImportRefused(
            f"{name}: a full import would remove {removed} of the {stored} stored case(s) "
            f"({100 * removed / stored:.1f} %), more than the {100 * share:g} % allowed "
            "(FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT); nothing was written (--allow-shrink if that is meant)")


class _Import:
    """Reading one file into the connection's transaction: lines, batches, problems."""

    def __init__(self, name: str, as_of: date, dry_run: bool, strict: bool,
                 progress: Callable[[int, int], None] | None, total_bytes: int):
        self.name, self.as_of, self.dry_run, self.strict = name, as_of, dry_run, strict
        self.progress, self.total_bytes = progress, total_bytes
        self.stats = ImportStats(dry_run=dry_run)
        self.issues: list[ValidationIssue] = []
        self.issue_count = 0
        self.seen: dict[str, int] = {}  # case_id -> first line
        self.batch: list[tuple[Case, str]] = []
        self.rewritten: set[str] = set()  # tables with rows updated or deleted
        self.source: str | None = None  # named by a v2 header line

    def read(self, conn: Connection, handle) -> None:
        """Validate every line and write the valid cases in batches; raises
        ImportRejected at the end if any line had a problem."""
        offset = 0  # of the line's first byte in the file
        for line_no, raw in enumerate(handle, 1):
            start = offset
            offset += len(raw)
            if line_no == 1 and raw.startswith(BOM):
                raw, start = raw[len(BOM):], start + len(BOM)
            text = self._text(raw, line_no, start)
            if not raw.strip():
                continue
            if not self.stats.lines and self.source is None and is_header(text):
                self._header(conn, line_no, text)
                continue
            self.stats.lines += 1
            self._case(line_no, text)
            if len(self.batch) >= BATCH:
                self._flush(conn)
                if self.progress:
                    self.progress(offset, self.total_bytes)
        self._flush(conn)
        if self.progress:
            self.progress(offset, self.total_bytes)
        if self.issue_count:
            raise ImportRejected(self.issues, self.issue_count)

    def _text(self, raw: bytes, line_no: int, start: int) -> str:
        """The line as text, or the file refused at its first byte that is not UTF-8."""
        nul = raw.find(b"\x00")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = exc.start
        else:
            if nul < 0:
                return text
            bad = len(raw)
        if 0 <= nul < bad:
            raise ImportRefused(f"{self.name}: not UTF-8 text: a NUL byte at byte offset {start + nul} "
                                f"(line {line_no}), as in UTF-16; {UTF8_ONLY}")
        if start + bad == 0 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ImportRefused(f"{self.name}: not UTF-8 text: a UTF-16 byte-order mark at byte offset 0; {UTF8_ONLY}")
        raise ImportRefused(f"{self.name}: not UTF-8 text: invalid byte at byte offset {start + bad} "
                            f"(line {line_no}); {UTF8_ONLY}")

    def _header(self, conn: Connection, line_no: int, text: str) -> None:
        """Contract v2: the header line says which source delivers the cases and what it
        never delivers; it is stored (not in a dry run) and the source kept on each case."""
        header, problems = parse_header(text)
        if header is None:
            self.issue_count += len(problems)
            self.issues += [ValidationIssue(self.name, line_no, None, f, e) for f, e in problems]
            return
        self.source = header.source
        if not self.dry_run:
            save_source(conn, header)

    def _case(self, line_no: int, text: str) -> None:
        facts, case_id, problems = parse_case(text, as_of=self.as_of)
        if case_id is not None:
            first = self.seen.get(case_id)
            if first is not None:
                problems = [*problems, ("case_id", f"expected each case once in a file (also on line {first})")]
            else:
                self.seen[case_id] = line_no
        if not problems:
            doubtful = implausible(facts, self.as_of)
            if self.strict:
                problems = doubtful
            else:
                self.stats.warning_count += len(doubtful)
                self.stats.warnings += [ValidationIssue(self.name, line_no, case_id, f, e)
                                        for f, e in doubtful[:max(0, MAX_ISSUES_KEPT - len(self.stats.warnings))]]
        if problems:
            self.issue_count += len(problems)
            self.issues += [ValidationIssue(self.name, line_no, case_id, f, e)
                            for f, e in problems[:max(0, MAX_ISSUES_KEPT - len(self.issues))]]
            return
        self.stats.cases += 1
        self.batch.append((facts, fingerprint(facts, self.source)))

    def _flush(self, conn: Connection) -> None:
        batch, self.batch = self.batch, []
        if self.issue_count or not batch:
            return
        stored = stored_fingerprints(conn, [f.case_id for f, _ in batch])
        changed = []
        for facts, fp in batch:
            old = stored.get(facts.case_id)
            if old == fp:
                self.stats.unchanged += 1
            else:
                changed.append((facts, fp))
                if old is None:
                    self.stats.new += 1
                else:
                    self.stats.changed += 1
        if not self.dry_run:
            self.rewritten.update(replace_cases(conn, changed, self.source))
