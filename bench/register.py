"""How fast register XML is read and mapped, and imported (issue 26: >= 2,000 documents/s
per core for reading and mapping). Figures are printed, never asserted.

    .venv/bin/python bench/register.py --documents 20000 [--database sqlite|postgresql|URL]

Writes ``--documents`` generated documents (:mod:`frister.demo.register_xml`) to a
temporary folder, then measures in this one process:

* read and map: every document read (``iterparse``), mapped to its contract-v2 record and
  validated by the contract's parser, nothing written; documents/s on one core;
* import: ``import_register`` of the folder into a fresh database (snapshots, facts);
* the peak resident memory of the process after each step.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from frister.db.engine import create_db_engine, migrate  # noqa: E402
from frister.demo.register_xml import generate_cases, to_xml  # noqa: E402
from frister.facts.parse import parse_case  # noqa: E402
from frister.importer.register import documents_of, import_register  # noqa: E402
from frister.importer.register_xml import map_document, read_document  # noqa: E402

AS_OF = date(2026, 6, 30)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=5000)
    ap.add_argument("--database", default="sqlite")
    ap.add_argument("--postgres-server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="frister-register-bench-") as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        night = datetime(2026, 6, 30, 22, tzinfo=timezone.utc)
        t = time.perf_counter()
        size = 0
        for i, case in enumerate(generate_cases(args.documents, AS_OF, seed=args.seed)):
            text = to_xml(case, night, str(uuid.UUID(int=i + 1, version=4)))
            (folder / f"{i:07d}.xml").write_text(text, encoding="utf-8")
            size += len(text)
        print(f"generate: {args.documents} documents, {size / args.documents:.0f} bytes each, "
              f"{time.perf_counter() - t:.1f} s")

        files = documents_of(folder)
        t = time.perf_counter()
        for path in files:
            with path.open("rb") as handle:
                doc = map_document(*read_document(handle))
            _, _, problems = parse_case(doc.record, as_of=AS_OF)
            assert not problems
        took = time.perf_counter() - t
        print(f"read and map: {len(files)} documents in {took:.2f} s: {len(files) / took:,.0f} documents/s "
              f"(one core); peak memory {peak_mb():.0f} MB")

        url, drop = _database(args, Path(tmp))
        engine = create_db_engine(url)
        try:
            migrate(engine, ROOT / "migrations")
            t = time.perf_counter()
            stats = import_register(engine, folder, as_of=AS_OF)
            took = time.perf_counter() - t
            print(f"import ({engine.dialect.name}): {stats.imported} imported in {took:.2f} s: "
                  f"{stats.documents / took:,.0f} documents/s; peak memory {peak_mb():.0f} MB")
            t = time.perf_counter()
            again = import_register(engine, folder, as_of=AS_OF)
            took = time.perf_counter() - t
            print(f"import again ({engine.dialect.name}): {again.unchanged} unchanged in {took:.2f} s: "
                  f"{again.documents / took:,.0f} documents/s")
        finally:
            engine.dispose()
            drop()


def _database(args, tmp: Path):
    if args.database == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", lambda: None
    if args.database != "postgresql":
        return args.database, lambda: None
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"frister_bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(args.postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(args.postgres_server).set(database=name).render_as_string(hide_password=False), drop


if __name__ == "__main__":
    main()
