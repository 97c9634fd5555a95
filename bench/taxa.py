"""`make bench-taxa`: importing and reading the taxon registers at the size of Species+.

Generates two registers of 50,000 taxon concepts each (40,000 accepted names and 10,000
synonyms; half the names shared between the two conventions, a third listed, some split
listings), saved as Species+ `taxon_concepts` pages of 500 concepts. Times the import of each
(reading the pages and writing the register, as `tandem taxa import` does, in one
transaction, comparison of the registers included) against the 60 s target, then, in-process
over ASGI, p50 / p95 / max of: an activity with 100 species names read with their
resolution, typing-ahead, and the discrepancy report (first page, a filtered page, the
counts), against the 200 ms target. Exits 1 when a target is missed. The database is dropped
at the end (`--keep` keeps it).

PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL's server, else 127.0.0.1:5432, else
an embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.stats import DEFAULT_DATABASE_URL, _admin, _answers, _p, _time, _with_database
from shared.embedded import EmbeddedPostgres

IMPORT_TARGET_S = 60.0
READ_TARGET_MS = 200.0
PER_PAGE = 500
_SYLLABLES = ["ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "xo"]


def _word(n: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_SYLLABLES[n % len(_SYLLABLES)])
        n //= len(_SYLLABLES)
    return "".join(out)


def species_name(i: int) -> str:
    """The i-th generated species: 2,000 genera of 20 species each."""
    return f"{_word(i // 20, 3).capitalize()} {_word(i, 4)}a"


def synonym_name(i: int) -> str:
    return f"{_word(i // 20, 3).capitalize()} {_word(i, 4)}us"


def _higher(i: int) -> dict[str, str]:
    family = i // 200
    return {
        "kingdom": "Animalia",
        "phylum": "Chordata",
        "class": f"{_word(family // 50, 3).capitalize()}ia",
        "order": f"{_word(family // 10, 3).capitalize()}iformes",
        "family": f"{_word(family, 3).capitalize()}idae",
    }


def register(convention: str, first: int, base_id: int) -> list[dict[str, object]]:
    """40,000 accepted species from the `first`-th on, every 4th with a synonym."""
    key = f"{convention.lower()}_listings"
    items = []
    for i in range(first, first + 40_000):
        listings = []
        if convention == "CITES":
            if i % 30 == 0:
                listings = [
                    {"appendix": "I", "effective_at": "2019-11-26"},
                    {"appendix": "II", "party": {"name": "Namibia"}, "effective_at": "2019-11-26"},
                ]
            elif i % 3 == 0:
                listings = [{"appendix": "II", "effective_at": "2019-11-26"}]
        elif i % 20 == 0:
            listings = [{"appendix": "I"}]
        elif i % 4 == 0:
            listings = [{"appendix": "II"}]
        items.append(
            {
                "id": base_id + i,
                "full_name": species_name(i),
                "author_year": "(Author, 1900)",
                "rank": "SPECIES",
                "name_status": "A",
                "higher_taxa": _higher(i),
                "synonyms": [
                    {"id": base_id + 500_000 + i, "full_name": synonym_name(i), "rank": "SPECIES"}
                ]
                if i % 4 == 0
                else [],
                "common_names": [{"name": f"Common {i}", "language": "EN"}],
                key: listings,
            }
        )
    return items


def write_pages(folder: Path, items: list[dict[str, object]]) -> list[Path]:
    paths = []
    for n, start in enumerate(range(0, len(items), PER_PAGE), start=1):
        path = folder / f"page-{n:03d}.json"
        page = {"pagination": {"current_page": n, "per_page": PER_PAGE}}
        path.write_text(json.dumps({**page, "taxon_concepts": items[start : start + PER_PAGE]}))
        paths.append(path)
    return paths


async def run(database_url: str, n: int, keep: bool) -> int:
    from services.api.main import create_app
    from shared.activities import service as activities
    from shared.activities.schemas import ActivityWrite
    from shared.config import Settings
    from shared.db import create_engine, create_session_factory, session_scope
    from shared.keys import service as keys
    from shared.migrate import upgrade_head
    from shared.policy import Principal
    from shared.taxa import service as taxa
    from shared.taxa.sources import Register

    name = f"tandem_bench_taxa_{os.getpid()}"
    await _admin(database_url, f'CREATE DATABASE "{name}"')
    url = _with_database(database_url, name)
    failed = 0
    try:
        await asyncio.to_thread(upgrade_head, url)
        engine = create_engine(url, pool_size=2)
        factory = create_session_factory(engine)
        folder = Path(tempfile.mkdtemp(prefix="tandem-bench-taxa-"))
        imports = []
        for convention, first, base in (("CITES", 0, 1_000_000), ("CMS", 20_000, 3_000_000)):
            (folder / convention).mkdir()
            pages = write_pages(folder / convention, register(convention, first, base))
            started = time.perf_counter()
            reg = Register(convention)
            for path in pages:
                reg.read(path.name, path.read_text())
            read_s = time.perf_counter() - started
            async with session_scope(factory) as session:
                report = await taxa.import_register(session, reg, ("CITES", "CMS"))
            total_s = time.perf_counter() - started
            imports.append((convention, len(pages), report, read_s, total_s))
            failed += total_s >= IMPORT_TARGET_S
        # Again, unchanged: what a nightly re-import costs.
        started = time.perf_counter()
        reg = Register("CMS")
        for path in sorted((folder / "CMS").iterdir()):
            reg.read(path.name, path.read_text())
        async with session_scope(factory) as session:
            again = await taxa.import_register(session, reg, ("CITES", "CMS"))
        again_s = time.perf_counter() - started

        admin = Principal(uuid.UUID(int=0), "bench", None, frozenset({"admin"}))
        hundred = [species_name(i) for i in range(0, 4000, 40)]
        hundred[::4] = [synonym_name(i) for i in range(0, 4000, 160)]
        async with session_scope(factory) as session:
            big = await activities.create(
                session,
                admin,
                ActivityWrite(
                    title="A hundred species",
                    theme="species",
                    species=hundred,
                    lead_secretariat="CITES",
                    partner_secretariats=["CMS"],
                ),
            )
            for a in range(60):
                await activities.create(
                    session,
                    admin,
                    ActivityWrite(
                        title=f"Joint activity {a}",
                        theme="species",
                        species=[species_name(a * 500 + k * 7) for k in range(5)],
                        lead_secretariat="CMS",
                        partner_secretariats=["CITES"],
                    ),
                )
            _, raw = await keys.create_key(session, "bench", "CITES", ["read"])
        await engine.dispose()
        headers = {"Authorization": f"Bearer {raw}"}
        settings = Settings(
            database_url=url, redis_url="redis://127.0.0.1:1/0", log_level="WARNING"
        )
        app = create_app(settings)
        cases = [
            (f"/v1/activities/{big['id']}", "activity with 100 names, resolved", {}),
            ("/v1/taxa", "typing-ahead `bac`", {"q": "bac", "limit": "10"}),
            ("/v1/taxa", "typing-ahead `cedifo`", {"q": "cedifo", "limit": "10"}),
            ("/v1/taxa", "typing-ahead `Bacedi laba`", {"q": "Bacedi laba", "limit": "10"}),
            ("/v1/listings/discrepancies", "report, first page", {}),
            ("/v1/listings/discrepancies", "report, one family", {"family": "Bacedidae"}),
            (
                "/v1/listings/discrepancies",
                "report, CMS Appendix I, page of 200",
                {"convention": "CMS", "appendix": "I", "limit": "200"},
            ),
            ("/v1/listings/discrepancies/counts", "counts by kind", {}),
        ]
        rows = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for path, label, query in cases:
                    times = await _time(client, headers, path, query, n)
                    p50, p95 = statistics.median(times), _p(times, 0.95)
                    ok = p95 < READ_TARGET_MS
                    failed += not ok
                    rows.append((path, label, p50, p95, max(times), ok))
        print(f"import, target < {IMPORT_TARGET_S:.0f} s per register of 50,000 concepts\n")
        print("| register | pages | added | discrepancy entries | reading s | total s | |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for convention, pages, report, read_s, total_s in imports:
            verdict = "ok" if total_s < IMPORT_TARGET_S else "SLOW"
            print(
                f"| {convention} | {pages} | {report['added']:,} | {report['discrepancies']:,} "
                f"| {read_s:.1f} | {total_s:.1f} | {verdict} |"
            )
        print(
            f"| CMS again, unchanged | {imports[1][1]} | "
            f"{again['added']} | {again['discrepancies']:,} | | {again_s:.1f} | |"
        )
        print(f"\n{n} sequential requests per case, in-process over ASGI;", end=" ")
        print(f"target p95 < {READ_TARGET_MS:.0f} ms\n")
        print("| endpoint | case | p50 ms | p95 ms | max ms | |")
        print("|---|---|---:|---:|---:|---|")
        for path, label, p50, p95, top, ok in rows:
            verdict = "ok" if ok else "SLOW"
            shown = "/v1/activities/{id}" if path.startswith("/v1/activities/") else path
            print(f"| `{shown}` | {label} | {p50:.1f} | {p95:.1f} | {top:.1f} | {verdict} |")
        return 1 if failed else 0
    finally:
        if keep:
            print(f"\nkept the database {name}")
        else:
            await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="requests per case (default 50)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    candidates = [os.environ.get("BENCH_DATABASE_URL")]
    if os.environ.get("TEST_DATABASE_URL"):
        candidates.append(_with_database(os.environ["TEST_DATABASE_URL"], "postgres"))
    candidates.append(DEFAULT_DATABASE_URL)
    embedded = None
    url = next((u for u in filter(None, candidates) if asyncio.run(_answers(u))), None)
    if url is None:
        print("no PostgreSQL answers; starting an embedded one", flush=True)
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="tandem-bench-")))
        url = embedded.start("postgres")
    try:
        code = asyncio.run(run(url, args.n, args.keep))
    finally:
        if embedded is not None:
            embedded.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
