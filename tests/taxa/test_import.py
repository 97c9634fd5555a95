"""Importing a convention's register: from Species+ pages or CSV, idempotent, reporting what
was added, changed and removed; from the command line and the admin API."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.taxa import service
from shared.taxa.sources import CSV_COLUMNS, Register
from tests.factories import Keys
from tests.taxa.registers import cites, cms, write_pages

CONVENTIONS = ("CITES", "CMS")


def _tandem(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_from_pages_is_idempotent_and_reports_removed_concepts(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    pages = write_pages(tmp_path, cites())
    first = _tandem(process_env, "taxa", "import", "--convention", "CITES", *map(str, pages))
    assert first.returncode == 0, first.stderr
    # 8 accepted names and the synonym Loxodonta cyclotis.
    assert "CITES: 9 read, 9 added, 0 changed, 0 unchanged, 0 removed" in first.stdout

    again = _tandem(process_env, "taxa", "import", "--convention", "cites", *map(str, pages))
    assert again.returncode == 0, again.stderr
    assert "9 read, 0 added, 0 changed, 9 unchanged, 0 removed" in again.stdout

    changed = cites()
    changed = [c for c in changed if c["full_name"] != "Panthera leo"]
    changed[0]["cites_listings"] = changed[0]["cites_listings"][:1]
    (tmp_path / "next").mkdir()
    pages = write_pages(tmp_path / "next", changed)
    third = _tandem(process_env, "taxa", "import", "--convention", "CITES", *map(str, pages))
    assert third.returncode == 0, third.stderr
    assert "8 read, 0 added, 1 changed, 7 unchanged, 1 removed" in third.stdout
    assert "changed: Loxodonta africana" in third.stdout
    assert "removed: Panthera leo" in third.stdout


def test_import_refuses_an_unknown_convention_and_a_bad_appendix(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    pages = write_pages(tmp_path, cites())
    unknown = _tandem(process_env, "taxa", "import", "--convention", "IWC", *map(str, pages))
    assert unknown.returncode != 0 and "IWC" in unknown.stderr
    bad = cites()
    bad[0]["cites_listings"][0]["appendix"] = "IV"
    pages = write_pages(tmp_path, bad)
    refused = _tandem(process_env, "taxa", "import", "--convention", "CITES", *map(str, pages))
    assert refused.returncode != 0
    assert "page-1.json: taxon_concepts[0].listings[0] appendix 'IV'" in refused.stderr


def _as_csv(items: list[dict[str, object]], key: str) -> str:
    """The documented CSV form of a Species+ register: one row per concept, more rows with
    the same id for each further listing, synonym link or common name."""
    rows = []
    for c in items:
        higher = c["higher_taxa"]
        assert isinstance(higher, dict)
        base = {
            "id": c["id"],
            "full_name": c["full_name"],
            "author_year": c["author_year"],
            "rank": c["rank"],
            "name_status": "A",
            "kingdom": higher["kingdom"],
            "phylum": higher["phylum"],
            "class": higher["class"],
            "order": higher["order"],
            "family": higher["family"],
        }
        rows.append(base)
        for listing in c[key]:  # type: ignore[attr-defined]
            party = listing["party"]
            rows.append(
                {
                    "id": c["id"],
                    "full_name": c["full_name"],
                    "appendix": listing["appendix"],
                    "population": party["name"] if party else "",
                    "effective_date": listing["effective_at"],
                }
            )
        for name in c["common_names"]:  # type: ignore[attr-defined]
            rows.append(
                {
                    "id": c["id"],
                    "full_name": c["full_name"],
                    "common_name": name["name"],
                    "common_name_language": name["language"],
                }
            )
        for syn in c["synonyms"]:  # type: ignore[attr-defined]
            rows.append(
                {
                    "id": syn["id"],
                    "full_name": syn["full_name"],
                    "name_status": "S",
                    "accepted_id": c["id"],
                }
            )
    out = []
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    out.append(buffer.getvalue())
    return "".join(out)


async def test_csv_import_gives_the_same_register_as_species_plus_pages(
    session_factory: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, keys: Keys
) -> None:
    from_json = Register("CMS")
    for i, page in enumerate([cms()[:4], cms()[4:]]):
        import json

        from_json.read(f"page-{i}.json", json.dumps({"taxon_concepts": page}))
    from_csv = Register("CMS")
    from_csv.read("cms.csv", "\ufeff" + _as_csv(cms(), "cms_listings"))
    assert {k: v.content_hash() for k, v in from_json.concepts.items()} == {
        k: v.content_hash() for k, v in from_csv.concepts.items()
    }
    async with session_scope(session_factory) as session:
        report = await service.import_register(session, from_csv, CONVENTIONS)
    assert report["added"] == 10 and report["removed"] == 0
    async with session_scope(session_factory) as session:
        again = await service.import_register(session, from_json, CONVENTIONS)
    assert again["added"] == again["changed"] == again["removed"] == 0


async def test_admin_imports_a_batch_over_the_api(client: httpx.AsyncClient, keys: Keys) -> None:
    body = {"convention": "CITES", "taxon_concepts": cites()}
    refused = await client.post("/v1/taxa:import", json=body, headers=keys.cites)
    assert refused.status_code == 403
    made = await client.post("/v1/taxa:import", json=body, headers=keys.admin)
    assert made.status_code == 200, made.text
    assert made.json()["added"] == 9
    partial = {
        "convention": "CITES",
        "partial": True,
        "taxon_concepts": [cites()[4] | {"author_year": "(Linnaeus, 1758)"}],
    }
    changed = await client.post("/v1/taxa:import", json=partial, headers=keys.admin)
    assert changed.json() | {"discrepancies": 0} == changed.json() | {
        "read": 1,
        "added": 0,
        "changed": 1,
        "unchanged": 0,
        "removed": 0,
        "concepts": 9,
        "changed_names": ["Panthera leo"],
        "discrepancies": 0,
    }
    bad = await client.post(
        "/v1/taxa:import",
        json={"convention": "IWC", "taxon_concepts": cites()},
        headers=keys.admin,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.convention"
    no_name = await client.post(
        "/v1/taxa:import",
        json={"convention": "CMS", "taxon_concepts": [{"id": 5}]},
        headers=keys.admin,
    )
    assert no_name.status_code == 422
    assert no_name.json()["errors"][0]["field"] == "body: taxon_concepts[0]"
