"""Two small registers written for the tests, in the Species+ `taxon_concepts` page shape.

Between them: a split (CITES's Loxodonta africana holds what CMS splits in two), a lump (CMS's
Saiga tatarica holds CITES's two saigas), a rename (the basking shark), split-population
listings (vicuña), species listed by one convention only (lion, lesser white-fronted goose),
a species one convention knows without listing (royal python), and one listed alike by both
(gorilla).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HIGHER = {
    "Loxodonta": ("Mammalia", "Proboscidea", "Elephantidae"),
    "Saiga": ("Mammalia", "Artiodactyla", "Bovidae"),
    "Vicugna": ("Mammalia", "Artiodactyla", "Camelidae"),
    "Panthera": ("Mammalia", "Carnivora", "Felidae"),
    "Gorilla": ("Mammalia", "Primates", "Hominidae"),
    "Cetorhinus": ("Elasmobranchii", "Lamniformes", "Cetorhinidae"),
    "Selache": ("Elasmobranchii", "Lamniformes", "Cetorhinidae"),
    "Anser": ("Aves", "Anseriformes", "Anatidae"),
    "Python": ("Reptilia", "Squamata", "Pythonidae"),
}


def concept(
    source_id: int,
    name: str,
    key: str,
    listings: list[tuple[str, str | None]] = (),  # type: ignore[assignment]
    synonyms: list[tuple[int, str]] = (),  # type: ignore[assignment]
    common: str | None = None,
) -> dict[str, Any]:
    cls, order, family = HIGHER[name.split()[0]]
    return {
        "id": source_id,
        "full_name": name,
        "author_year": "(Author, 1900)",
        "rank": "SPECIES",
        "name_status": "A",
        "updated_at": "2024-01-01T00:00:00.000Z",
        "active": True,
        "higher_taxa": {
            "kingdom": "Animalia",
            "phylum": "Chordata",
            "class": cls,
            "order": order,
            "family": family,
        },
        "synonyms": [
            {"id": sid, "full_name": sname, "author_year": "", "rank": "SPECIES"}
            for sid, sname in synonyms
        ],
        "common_names": [{"name": common, "language": "EN"}] if common else [],
        key: [
            {
                "id": source_id * 10 + i,
                "appendix": appendix,
                "annotation": "",
                "effective_at": "2019-11-26",
                "party": {"iso_code2": None, "name": population, "type": "COUNTRY"}
                if population
                else None,
            }
            for i, (appendix, population) in enumerate(listings)
        ],
    }


def cites() -> list[dict[str, Any]]:
    k = "cites_listings"
    return [
        concept(
            1001,
            "Loxodonta africana",
            k,
            [("I", None), ("II", "Botswana"), ("II", "Namibia")],
            [(1002, "Loxodonta cyclotis")],
            "African elephant",
        ),
        concept(1010, "Saiga tatarica", k, [("II", None)]),
        concept(1011, "Saiga borealis", k, [("II", None)]),
        concept(1020, "Cetorhinus maximus", k, [("II", None)], common="Basking shark"),
        concept(1030, "Panthera leo", k, [("II", None)], common="Lion"),
        concept(1040, "Gorilla gorilla", k, [("I", None)]),
        concept(1050, "Python regius", k, [("II", None)]),
        concept(1060, "Vicugna vicugna", k, [("I", None), ("II", "Argentina")]),
    ]


def cms() -> list[dict[str, Any]]:
    k = "cms_listings"
    return [
        concept(2001, "Loxodonta africana", k, [("II", None)]),
        concept(2002, "Loxodonta cyclotis", k, [("II", None)]),
        concept(2010, "Saiga tatarica", k, [("II", None)], [(2011, "Saiga borealis")]),
        concept(
            2020, "Selache maxima", k, [("I", None), ("II", None)], [(2021, "Cetorhinus maximus")]
        ),
        concept(2030, "Anser erythropus", k, [("I", None)]),
        concept(2040, "Gorilla gorilla", k, [("I", None)]),
        concept(2050, "Python regius", k, []),
        concept(2060, "Vicugna vicugna", k, [("I", None), ("II", "Bolivia")]),
    ]


def write_pages(folder: Path, items: list[dict[str, Any]], per_page: int = 3) -> list[Path]:
    """The register as Species+ would return it page by page, one file per page."""
    paths = []
    for number, start in enumerate(range(0, len(items), per_page), start=1):
        page = {
            "pagination": {
                "current_page": number,
                "per_page": per_page,
                "total_entries": len(items),
            },
            "taxon_concepts": items[start : start + per_page],
        }
        path = folder / f"page-{number}.json"
        path.write_text(json.dumps(page), encoding="utf-8")
        paths.append(path)
    return paths
