"""Import of the register's XML: a file or a folder of ``Barnevern`` documents.

Each document is one case's complete snapshot (:mod:`frister.importer.register_xml`
reads and maps it). This module owns the snapshot semantics around it:

* **A snapshot replaces the case**: the mapped record is validated by the contract's
  parser (:func:`frister.facts.parse.parse_case`) and stored by the same code as a JSON
  Lines case (:func:`frister.store.facts.replace_cases`), from the source
  ``barnevernsregisteret``, whose header declares what the XML never carries.
* **Never backwards**: per case the last ``Barnevern/@Id``, ``@ForrigeId`` and
  ``DatoUttrekk`` are kept (``register_snapshots``). A document extracted before the
  stored one is skipped (*older*); the stored one again is *unchanged*; a newer one whose
  ``ForrigeId`` is not the stored ``Id`` is imported and counted as a *chain gap* (a
  delivery that never arrived). A folder is taken in order of extraction.
* **Deletions**: ``Sak/@ErSlettet`` removes the case's facts
  (:func:`frister.store.facts.remove_cases`); deleted elements (``@ErSlettet``,
  ``Slettet``) are not mapped.
* **Each document atomic**: a document is read, mapped and validated whole before any of
  it is written, so a refused one writes nothing; the others still import. Writes go in
  batches, each in a transaction. ``all_or_nothing`` makes the whole run one
  transaction that a single refusal rolls back.
* **Schema**: with ``schema`` (``FRISTER_REGISTER_XSD``) every document is validated
  against SSB's XSD first; the refusal names the element path and the kind of check,
  never the value (lxml's messages quote values, so they are not shown).
* **Confidential**: refusals name file, element path and what was expected; guesses name
  element type and id (the case system's surrogate keys, UUIDs).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from lxml import etree
from sqlalchemy import Connection, Engine, delete, insert, select

from frister.db.dialect import after_bulk_write
from frister.errors import FristerError, ImportRefused
from frister.facts.contract import Case, Header
from frister.facts.parse import parse_case
from frister.importer.jsonl import fingerprint, importing
from frister.importer.register_xml import NOT_DELIVERED, SOURCE, Document, Head, Refused, map_document, \
    read_document, read_head
from frister.store.facts import remove_cases, replace_cases, save_source
from frister.store.tables import FACT_TABLES, cases, register_snapshots

BATCH = 500
SHOWN = 50


@dataclass
class RegisterStats:
    documents: int = 0
    imported: int = 0  # facts written (new or changed case)
    unchanged: int = 0  # the stored snapshot again, or a newer one with the same facts
    older: int = 0  # extracted before the stored snapshot: skipped
    deleted: int = 0
    refused: int = 0
    chain_gaps: int = 0
    dry_run: bool = False
    refusals: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    guesses: list[str] = field(default_factory=list)
    guess_count: int = 0
    guess_kinds: Counter = field(default_factory=Counter)  # the guess with its ids left out

    def summary(self, shown: int = SHOWN) -> str:
        """Counts, chain gaps, and the mapping guesses by kind and (the first ``shown``) one by one."""
        verb = "would import" if self.dry_run else "imported"
        lines = [f"register XML: {self.documents} document(s): {verb} {self.imported}, {self.unchanged} unchanged, "
                 f"{self.older} older than stored (skipped), {self.deleted} deleted, {self.refused} refused, "
                 f"{self.chain_gaps} chain gap(s)"]
        lines += [f"chain gap: {g}" for g in self.gaps[:shown]]
        if self.guess_count:
            lines.append(f"{self.guess_count} mapping guess(es), by kind:")
            lines += [f"{n:>8} x {kind}" for kind, n in sorted(self.guess_kinds.items(), key=lambda kn: -kn[1])]
            lines += [f"guess: {g}" for g in self.guesses[:shown]]
            if shown and self.guess_count > shown:
                lines.append(f"... and {self.guess_count - shown} more")
        return "\n".join(lines)

    def refusal_text(self) -> str:
        lines = [f"refused: {r}" for r in self.refusals[:SHOWN]]
        if self.refused > SHOWN:
            lines.append(f"... and {self.refused - SHOWN} more")
        return "\n".join(lines)


class RegisterRefused(FristerError):
    """Some documents were refused (the others were imported unless all or nothing)."""

    exit_code = 1

    def __init__(self, stats: RegisterStats, written: bool):
        self.stats = stats
        tail = ("the other documents were imported" if written else "nothing was written")
        super().__init__(f"{stats.refusal_text()}\n{stats.refused} document(s) refused; {tail}")


def looks_like_register_xml(path: Path) -> bool:
    """Whether ``path`` holds register XML: a folder, or a file whose first character
    (after a byte-order mark and blanks) is ``<``."""
    if path.is_dir():
        return True
    with path.open("rb") as handle:
        head = handle.read(512).lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<")


def documents_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.xml") if p.is_file())
    return [path]


def import_register(engine: Engine, path: Path | str, as_of: date, *, dry_run: bool = False,
                    all_or_nothing: bool = False, schema: Path | str | None = None, lock_wait: float = 0,
                    progress: Callable[[int, int], None] | None = None) -> RegisterStats:
    """Import a register XML file or folder (see the module docstring). Raises
    :class:`RegisterRefused` after the import when documents were refused."""
    path = Path(path)
    if not path.exists():
        raise FristerError(f"{path}: no such file or folder")
    files = documents_of(path)
    if not files:
        raise ImportRefused(f"{path}: no .xml document in the folder; nothing was written")
    validator = _schema(Path(schema)) if schema else None
    run = _Run(as_of, dry_run, validator, path if path.is_dir() else path.parent)
    ordered = run.order(files)
    with importing(engine, dry_run, lock_wait) as w:
        for i, (file, head) in enumerate(ordered, 1):
            run.document(w.conn, file, head)
            if len(run.pending) >= BATCH:
                run.flush(w.conn)
                if not (dry_run or all_or_nothing):
                    w.commit_so_far()
            if progress:
                progress(i, len(ordered))
        run.flush(w.conn)
        w.keep = not (dry_run or (all_or_nothing and run.stats.refused))
    if not dry_run:
        after_bulk_write(engine, run.rewritten)
    stats = run.stats
    if stats.refused:
        raise RegisterRefused(stats, written=not (dry_run or all_or_nothing) and stats.refused < stats.documents)
    return stats


def _schema(path: Path) -> etree.XMLSchema:
    try:
        return etree.XMLSchema(etree.parse(str(path)))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError):
        raise FristerError(f"{path}: cannot read the register schema (FRISTER_REGISTER_XSD)") from None


_ATTRIBUTE = re.compile(r"attribute '([A-Za-z]+)'")


def _schema_problem(error) -> tuple[str, str]:
    """Where and what of an XSD error, without the value lxml's message quotes."""
    where = re.sub(r"\[1\]", "", error.path or "(document)").lstrip("/")
    attribute = _ATTRIBUTE.search(error.message or "")
    if attribute:
        where += f"/@{attribute.group(1)}"
    kind = (error.type_name or "").lower().replace("schemav_", "").replace("cvc_", "").replace("_valid", "")
    return where, f"expected what SSB's schema allows (check: {kind or 'unknown'})"


class _Run:
    def __init__(self, as_of: date, dry_run: bool, validator, base: Path):
        self.as_of, self.dry_run, self.validator, self.base = as_of, dry_run, validator, base
        self.stats = RegisterStats(dry_run=dry_run)
        self.state: dict[str, dict | None] = {}  # case_id -> snapshot (stored or taken in this run)
        self.pending: dict[str, tuple[Case, str] | None] = {}  # case_id -> facts, None: remove
        self.snapshots: dict[str, dict] = {}  # case_id -> snapshot row to store
        self.rewritten: set[str] = set()
        self.source_saved = False
        self.latest_extract: date | None = None

    def name(self, file: Path) -> str:
        try:
            return str(file.relative_to(self.base))
        except ValueError:
            return file.name

    def order(self, files: list[Path]) -> list[tuple[Path, Head | None]]:
        """The documents in order of extraction (then name); unreadable ones last, to be refused."""
        heads = []
        for file in files:
            try:
                with file.open("rb") as handle:
                    heads.append((file, read_head(handle)))
            except (Refused, OSError):
                heads.append((file, None))
        return sorted(heads, key=lambda fh: (fh[1] is None, fh[1].extracted_at if fh[1] else 0, str(fh[0])))

    def refuse(self, file: Path, where: str, expected: str) -> None:
        self.stats.refused += 1
        if len(self.stats.refusals) < 1000:
            self.stats.refusals.append(f"{self.name(file)}: {where}: {expected}")

    def document(self, conn: Connection, file: Path, head: Head | None) -> None:
        self.stats.documents += 1
        try:
            if self.validator is not None:
                self._validate(file)
            with file.open("rb") as handle:
                head, case, parts = read_document(handle)
            doc = map_document(head, case, parts)
        except Refused as exc:
            return self.refuse(file, exc.path, exc.expected)
        except OSError as exc:
            return self.refuse(file, "(file)", f"cannot read: {exc.strerror}")
        facts = None
        if not doc.deleted:
            facts, _, problems = parse_case(doc.record, as_of=self.as_of)
            if problems:
                where, expected = problems[0]
                return self.refuse(file, _element(doc, where), expected + (
                    f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        self._take(conn, file, doc, facts)

    def _validate(self, file: Path) -> None:
        try:
            tree = etree.parse(str(file), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        except etree.XMLSyntaxError:
            raise Refused("(document)", "expected well-formed XML") from None
        if not self.validator.validate(tree):
            raise Refused(*_schema_problem(self.validator.error_log[0]))

    def _take(self, conn: Connection, file: Path, doc: Document, facts: Case | None) -> None:
        case_id, head = doc.case_id, doc.head
        stored = self._stored(conn, case_id)
        if stored is not None:
            if head.document_id == stored["document_id"]:
                self.stats.unchanged += 1
                return
            if head.extracted_at < stored["extracted_at"]:
                self.stats.older += 1
                return
            if head.previous_id != stored["document_id"]:
                self.stats.chain_gaps += 1
                if len(self.stats.gaps) < 1000:
                    self.stats.gaps.append(f"{self.name(file)}: case {case_id}: ForrigeId is not the last "
                                           "snapshot imported (a delivery is missing); imported")
        self.stats.guess_count += len(doc.guesses)
        self.stats.guess_kinds.update(_ID.sub("<id>", g) for g in doc.guesses)
        self.stats.guesses += [f"{self.name(file)}: case {case_id}: {g}"
                               for g in doc.guesses[:max(0, 1000 - len(self.stats.guesses))]]
        snapshot = {"case_id": case_id, "document_id": head.document_id, "previous_id": head.previous_id,
                    "extracted_at": head.extracted_at, "deleted": doc.deleted}
        if doc.deleted:
            self.stats.deleted += 1
            self.pending[case_id] = None
            snapshot["fingerprint"] = None
        else:
            fp = fingerprint(facts, SOURCE)
            if stored is not None and stored.get("fingerprint") == fp:
                self.stats.unchanged += 1
            else:
                self.stats.imported += 1
                self.pending[case_id] = (facts, fp)
            snapshot["fingerprint"] = fp
        self.state[case_id] = snapshot
        self.snapshots[case_id] = snapshot
        extracted = head.extracted_at.date()
        self.latest_extract = max(self.latest_extract or extracted, extracted)

    def _stored(self, conn: Connection, case_id: str) -> dict | None:
        if case_id not in self.state:
            row = conn.execute(
                select(register_snapshots, cases.c.fingerprint)
                .outerjoin(cases, cases.c.case_id == register_snapshots.c.case_id)
                .where(register_snapshots.c.case_id == case_id)).mappings().first()
            self.state[case_id] = dict(row) if row is not None else None
        return self.state[case_id]

    def flush(self, conn: Connection) -> None:
        if self.dry_run or not self.snapshots:
            self.pending, self.snapshots = {}, {}
            return
        if not self.source_saved:
            save_source(conn, Header(frister_export=2, source=SOURCE, extracted_on=self.latest_extract,
                                     not_delivered=NOT_DELIVERED))
            self.source_saved = True
        gone = [c for c, facts in self.pending.items() if facts is None]
        if gone:
            remove_cases(conn, gone)
            self.rewritten.update(t.name for t in FACT_TABLES)
        self.rewritten.update(replace_cases(conn, [f for f in self.pending.values() if f is not None], SOURCE))
        ids = list(self.snapshots)
        for i in range(0, len(ids), 500):
            conn.execute(delete(register_snapshots).where(register_snapshots.c.case_id.in_(ids[i:i + 500])))
        conn.execute(insert(register_snapshots), [{k: v for k, v in s.items() if k != "fingerprint"}
                                                  for s in self.snapshots.values()])
        self.pending, self.snapshots = {}, {}


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SUBJECT = re.compile(r"^([a-z_]+)\[(\d+)\](.*)$")


def _element(doc: Document, where: str) -> str:
    """A contract path of the mapped record (``referrals[0].concluded_on``) as the
    element it came from (``Melding <id>: referrals.concluded_on``)."""
    m = _SUBJECT.match(where)
    if m and m.group(1) in doc.elements and int(m.group(2)) < len(doc.elements[m.group(1)]):
        return f"Barnevern/Sak/{doc.elements[m.group(1)][int(m.group(2))]}: {m.group(1)}{m.group(3)}"
    return f"Barnevern/Sak: {where}"
