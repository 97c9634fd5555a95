"""Names resolve to each convention's accepted concept through synonyms; activities are found
by a synonym or a higher taxon; typing-ahead searches both taxonomies."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Keys, activity_body, create

pytestmark = pytest.mark.usefixtures("registers")


def _accepted(resolution: dict[str, object], convention: str) -> list[str]:
    per = resolution["conventions"]
    assert isinstance(per, dict)
    return [c["full_name"] for c in per[convention]]


async def test_activity_shows_what_each_species_name_resolves_to(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    made = await create(
        client,
        "/v1/activities",
        activity_body(
            species=["Loxodonta cyclotis", "Saiga BOREALIS", "Cetorhinus maximus", "Unknownia x"]
        ),
        keys.cms,
    )
    assert made["species"] == [
        "Loxodonta cyclotis",
        "Saiga BOREALIS",
        "Cetorhinus maximus",
        "Unknownia x",
    ]
    shown = (await client.get(f"/v1/activities/{made['id']}", headers=keys.cms)).json()
    cyclotis, saiga, shark, unknown = shown["species_resolved"]
    # A synonym in CITES (of the African elephant), an accepted species in CMS.
    assert _accepted(cyclotis, "CITES") == ["Loxodonta africana"]
    assert cyclotis["conventions"]["CITES"][0]["via_synonym"] is True
    assert _accepted(cyclotis, "CMS") == ["Loxodonta cyclotis"]
    assert cyclotis["status"] == "resolved"
    # Any case: accepted in CITES, a synonym of the lumped saiga in CMS.
    assert _accepted(saiga, "CITES") == ["Saiga borealis"]
    assert _accepted(saiga, "CMS") == ["Saiga tatarica"]
    # Renamed: CMS accepts another name for the basking shark.
    assert _accepted(shark, "CMS") == ["Selache maxima"]
    assert shark["conventions"]["CMS"][0]["source_id"] == 2020
    assert unknown == {
        "name": "Unknownia x",
        "status": "unresolved",
        "conventions": {"CITES": [], "CMS": []},
    }

    listed = (await client.get("/v1/activities", headers=keys.cms)).json()["items"]
    assert listed[0]["species_resolved"] == shown["species_resolved"]
    await client.patch(
        f"/v1/activities/{made['id']}", json={"species": ["Panthera leo"]}, headers=keys.cms
    )
    patched = await client.get(f"/v1/activities/{made['id']}", headers=keys.cms)
    assert patched.json()["species_resolved"][0]["status"] == "partly_resolved"


async def test_activities_are_found_by_synonym_and_by_higher_taxon(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    elephants = await create(
        client, "/v1/activities", activity_body(species=["Loxodonta africana"]), keys.cms
    )
    sharks = await create(
        client,
        "/v1/activities",
        activity_body(title="Basking sharks", species=["Selache maxima"]),
        keys.cms,
    )

    async def titles(**params: str) -> list[str]:
        response = await client.get("/v1/activities", params=params, headers=keys.cites_read)
        assert response.status_code == 200, response.text
        return [a["title"] for a in response.json()["items"]]

    assert await titles(species="loxodonta   CYCLOTIS") == [elephants["title"]]
    assert await titles(species="Cetorhinus maximus") == [sharks["title"]]
    assert await titles(species="Loxodonta africana") == [elephants["title"]]
    assert await titles(taxon="Elephantidae") == [elephants["title"]]
    assert await titles(taxon="proboscidea") == [elephants["title"]]
    assert await titles(taxon="Lamniformes") == [sharks["title"]]
    assert await titles(taxon="Mammalia") == [elephants["title"]]
    assert await titles(taxon="Felidae") == []
    assert await titles(taxon="Nowhereidae") == []


async def test_typing_ahead_searches_both_taxonomies_ignoring_case_and_accents(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    response = await client.get("/v1/taxa", params={"q": "LOXÓ"}, headers=keys.cites_read)
    assert response.status_code == 200
    found = [(t["convention"], t["full_name"], t["name_status"]) for t in response.json()["items"]]
    assert found == [
        ("CITES", "Loxodonta africana", "A"),
        ("CMS", "Loxodonta africana", "A"),
        ("CITES", "Loxodonta cyclotis", "S"),
        ("CMS", "Loxodonta cyclotis", "A"),
    ]
    synonym = response.json()["items"][2]
    assert [a["full_name"] for a in synonym["accepted"]] == ["Loxodonta africana"]
    middle = await client.get(
        "/v1/taxa", params={"q": "maxim", "convention": "cms"}, headers=keys.cites_read
    )
    assert [t["full_name"] for t in middle.json()["items"]] == [
        "Selache maxima",
        "Cetorhinus maximus",
    ]

    elephant = response.json()["items"][0]
    one = (await client.get(f"/v1/taxa/{elephant['id']}", headers=keys.cites_read)).json()
    assert one["higher_taxa"]["family"] == "Elephantidae"
    assert one["higher_taxa"]["genus"] == "Loxodonta"
    assert one["common_names"] == [{"name": "African elephant", "language": "EN"}]
    assert [s["full_name"] for s in one["synonyms"]] == ["Loxodonta cyclotis"]
    assert [(li["appendix"], li["population"]) for li in one["listings"]] == [
        ("I", None),
        ("II", "Botswana"),
        ("II", "Namibia"),
    ]
    assert one["listings"][0]["effective_date"] == "2019-11-26"

    everything = await client.get("/v1/taxa", params={"limit": 7}, headers=keys.cites_read)
    second = await client.get(
        "/v1/taxa",
        params={"limit": 50, "cursor": everything.json()["next_cursor"]},
        headers=keys.cites_read,
    )
    assert len(everything.json()["items"]) + len(second.json()["items"]) == 19
    assert second.json()["next_cursor"] is None
    bad = await client.get("/v1/taxa", params={"convention": "IWC"}, headers=keys.cites_read)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.convention"
    missing = await client.get(
        "/v1/taxa/00000000-0000-0000-0000-000000000000", headers=keys.cites_read
    )
    assert missing.status_code == 404
