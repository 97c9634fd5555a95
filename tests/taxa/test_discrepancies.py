"""The discrepancy report between the CITES and CMS test registers: every kind, its filters,
the joint activities concerned, the CSV and the counts for the dashboard."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from shared.taxa.service import CSV_COLUMNS
from tests.factories import Keys, activity_body, create

pytestmark = pytest.mark.usefixtures("registers")


async def _report(client: httpx.AsyncClient, keys: Keys, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/listings/discrepancies", params={"limit": 200, **params}, headers=keys.cites_read
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _by(entries: list[dict[str, Any]], kind: str) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(e["names"]): e for e in entries if e["kind"] == kind}


async def test_report_shows_every_kind_of_discrepancy(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    entries = await _report(client, keys)

    names = _by(entries, "different_names")
    split = names[("Loxodonta africana", "Loxodonta cyclotis")]
    assert split["relation"] == "split"
    assert split["sentence"].startswith(
        "CITES treats as one taxon, Loxodonta africana, what CMS splits into 2: "
        "Loxodonta africana and Loxodonta cyclotis."
    )
    assert "CITES follows CITES standard reference" in split["sentence"]
    lump = names[("Saiga borealis", "Saiga tatarica")]
    assert lump["relation"] == "lump"
    renamed = names[("Cetorhinus maximus", "Selache maxima")]
    assert renamed["relation"] == "renamed"
    assert (
        "CITES accepts Cetorhinus maximus (Author, 1900) where CMS accepts Selache maxima"
        in (renamed["sentence"])
    )
    assert len(names) == 3

    listing = _by(entries, "different_listing")
    assert set(listing) == {
        ("Loxodonta africana", "Loxodonta cyclotis"),
        ("Cetorhinus maximus", "Selache maxima"),
        ("Vicugna vicugna",),
    }
    # Split populations compared: both list the vicuña in I and II, for other populations.
    assert listing[("Vicugna vicugna",)]["sentence"] == (
        "CITES lists Vicugna vicugna in Appendix I and Appendix II (population of Argentina); "
        "CMS lists Vicugna vicugna in Appendix I and Appendix II (population of Bolivia)."
    )
    assert listing[("Cetorhinus maximus", "Selache maxima")]["appendices"] == [
        "CITES:II",
        "CMS:I",
        "CMS:II",
    ]

    one_only = _by(entries, "listed_by_one_only")
    assert one_only[("Panthera leo",)]["sentence"] == (
        "CITES lists Panthera leo in Appendix II; CMS has no taxon of that name."
    )
    assert one_only[("Anser erythropus",)]["listed_by"] == ["CMS"]
    assert one_only[("Python regius",)]["sentence"] == (
        "CITES lists Python regius in Appendix II; CMS knows it as Python regius but does not "
        "list it."
    )
    assert len(one_only) == 3

    # Listed alike by both: the gorilla appears only as a listed taxon no activity covers.
    assert [e["kind"] for e in entries if "Gorilla gorilla" in e["names"]] == [
        "not_covered",
        "not_covered",
    ]
    assert len([e for e in entries if e["kind"] == "not_covered"]) == 15
    assert [e["kind"] for e in entries] == sorted(
        (e["kind"] for e in entries),
        key=["different_listing", "listed_by_one_only", "different_names", "not_covered"].index,
    )


async def test_joint_activities_cover_listed_taxa_under_any_of_their_names(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    forest = await create(
        client,
        "/v1/activities",
        activity_body(title="Forest elephants", species=["Loxodonta cyclotis"]),
        keys.cms,
    )
    entries = await _report(client, keys)
    elephant_entries = [e for e in entries if "Loxodonta africana" in e["names"]]
    assert {e["kind"] for e in elephant_entries} == {"different_names", "different_listing"}
    assert all(
        e["activities"] == [{"id": forest["id"], "title": "Forest elephants"}]
        for e in (elephant_entries)
    )
    # The CITES elephant (whose synonym the activity names) and both CMS elephants are covered.
    assert len([e for e in entries if e["kind"] == "not_covered"]) == 12

    covered = await _report(client, keys, covered_by_activity="true")
    assert {e["id"] for e in covered} == {e["id"] for e in elephant_entries}
    uncovered = await _report(client, keys, covered_by_activity="false")
    assert len(uncovered) == len(entries) - len(covered)

    elephants = await _report(client, keys, family="ELEPHANTIDAE")
    assert {e["id"] for e in elephants} == {e["id"] for e in elephant_entries}
    birds = await _report(client, keys, **{"class": "Aves"})
    assert {e["kind"] for e in birds} == {"listed_by_one_only", "not_covered"}
    cms_one = await _report(client, keys, appendix="I", convention="CMS")
    assert cms_one and all("CMS:I" in e["appendices"] for e in cms_one)
    assert ("Anser erythropus",) in _by(cms_one, "listed_by_one_only")
    only_cites = await _report(client, keys, convention="CITES", kind="not_covered")
    assert {e["names"][0] for e in only_cites} == {
        "Saiga tatarica",
        "Saiga borealis",
        "Cetorhinus maximus",
        "Panthera leo",
        "Gorilla gorilla",
        "Python regius",
        "Vicugna vicugna",
    }
    order = await _report(client, keys, order="lamniformes", kind="different_names")
    assert [e["relation"] for e in order] == ["renamed"]

    counts = await client.get("/v1/listings/discrepancies/counts", headers=keys.cites_read)
    assert counts.json()["counts"] == {
        "different_listing": 3,
        "listed_by_one_only": 3,
        "different_names": 3,
        "not_covered": 12,
    }
    assert counts.json()["total"] == 21

    first = await client.get(
        "/v1/listings/discrepancies", params={"limit": 5}, headers=keys.cites_read
    )
    rest = await client.get(
        "/v1/listings/discrepancies",
        params={"limit": 200, "cursor": first.json()["next_cursor"]},
        headers=keys.cites_read,
    )
    assert [e["id"] for e in first.json()["items"] + rest.json()["items"]] == [
        e["id"] for e in entries
    ]
    bad = await client.get(
        "/v1/listings/discrepancies", params={"appendix": "IV"}, headers=keys.cites_read
    )
    assert bad.status_code == 422


async def test_report_as_csv_for_a_meeting_document(client: httpx.AsyncClient, keys: Keys) -> None:
    await create(
        client,
        "/v1/activities",
        activity_body(title="=HYPERLINK(evil)", species=["Panthera leo"]),
        keys.cms,
    )
    for request in (
        {"headers": {**keys.cites_read, "Accept": "text/csv"}},
        {"headers": keys.cites_read, "params": {"format": "csv"}},
    ):
        response = await client.get("/v1/listings/discrepancies", **request)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        text = response.content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert tuple(rows[0]) == CSV_COLUMNS
        lion = next(r for r in rows[1:] if r[8] == "Panthera leo" and r[0] == "listed_by_one_only")
        assert lion[10] == "'=HYPERLINK(evil)"
        assert lion[9] == "CITES lists Panthera leo in Appendix II; CMS has no taxon of that name."
        # Every entry, not one page: 9 differences and 14 listed taxa without an activity.
        assert len(rows) == 1 + 9 + 14
