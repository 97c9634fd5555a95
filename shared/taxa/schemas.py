"""Taxon registers: concepts, listings, name resolution, import reports, discrepancies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from shared.schemas import InputModel, OutputModel

DiscrepancyKind = Literal[
    "listed_by_one_only", "different_listing", "different_names", "not_covered"
]


class HigherTaxa(OutputModel):
    model_config = {"populate_by_name": True}

    kingdom: str | None
    phylum: str | None
    class_: str | None = Field(alias="class", serialization_alias="class")
    order: str | None
    family: str | None
    genus: str | None


class CommonName(OutputModel):
    name: str
    language: str


class ConceptRef(OutputModel):
    id: uuid.UUID
    full_name: str


class Listing(OutputModel):
    appendix: Literal["I", "II", "III"]
    population: str | None = Field(description="The population or region of a split listing")
    annotation: str
    effective_date: date | None
    is_current: bool
    source: str = Field(description="Where the listing was taken from, when the import said")


class TaxonSummary(OutputModel):
    """A taxon concept as a list or typing-ahead shows it."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "2f1c6a0e-8c1d-5d8e-9a51-3b0f4c6d7e81",
                    "convention": "CITES",
                    "source_id": 4521,
                    "full_name": "Loxodonta africana",
                    "author_year": "(Blumenbach, 1797)",
                    "rank": "SPECIES",
                    "name_status": "A",
                    "accepted": [],
                    "higher_taxa": {
                        "kingdom": "Animalia",
                        "phylum": "Chordata",
                        "class": "Mammalia",
                        "order": "Proboscidea",
                        "family": "Elephantidae",
                        "genus": "Loxodonta",
                    },
                    "common_names": [{"name": "African elephant", "language": "EN"}],
                    "appendices": ["I", "II"],
                }
            ]
        }
    }

    id: uuid.UUID
    convention: str
    source_id: int = Field(description="The source's permanent taxon concept id")
    full_name: str
    author_year: str
    rank: str
    name_status: str = Field(description="A accepted, S synonym (N, T, H as in Species+)")
    accepted: list[ConceptRef] = Field(description="For a synonym, the accepted concepts")
    higher_taxa: HigherTaxa
    common_names: list[CommonName]
    appendices: list[str] = Field(description="Appendices of the current listings")


class TaxonRead(TaxonSummary):
    """A taxon concept with its synonyms and listings."""

    synonyms: list[ConceptRef]
    listings: list[Listing]


class ConventionResolution(OutputModel):
    id: uuid.UUID
    full_name: str
    source_id: int
    via_synonym: bool = Field(description="True when the name is a synonym in this taxonomy")


class SpeciesResolution(OutputModel):
    """What one name resolves to in each convention's taxonomy."""

    name: str
    status: Literal["resolved", "partly_resolved", "unresolved"]
    conventions: dict[str, list[ConventionResolution]] = Field(
        description="Per convention, the accepted concepts the name stands for (several when "
        "the convention splits what the name covers); empty when unresolved there"
    )


class TaxaImport(InputModel):
    """A batch of Species+ API v1 `taxon_concepts` objects for one convention."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "convention": "CITES",
                    "partial": True,
                    "taxon_concepts": [
                        {
                            "id": 4521,
                            "full_name": "Loxodonta africana",
                            "author_year": "(Blumenbach, 1797)",
                            "rank": "SPECIES",
                            "name_status": "A",
                            "higher_taxa": {
                                "kingdom": "Animalia",
                                "phylum": "Chordata",
                                "class": "Mammalia",
                                "order": "Proboscidea",
                                "family": "Elephantidae",
                            },
                            "synonyms": [
                                {
                                    "id": 37069,
                                    "full_name": "Loxodonta cyclotis",
                                    "author_year": "(Matschie, 1900)",
                                    "rank": "SPECIES",
                                }
                            ],
                            "common_names": [{"name": "African elephant", "language": "EN"}],
                            "cites_listings": [
                                {"appendix": "I", "annotation": "", "effective_at": "1990-01-18"}
                            ],
                        }
                    ],
                }
            ]
        }
    }

    convention: str = Field(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9]+$")
    partial: bool = Field(
        default=False,
        strict=True,
        description="false: the batch is the whole register (concepts absent from it are "
        "removed); true: only the concepts in the batch are added or changed",
    )
    nomenclature_reference: str | None = Field(default=None, max_length=1000)
    taxon_concepts: list[dict[str, Any]] = Field(
        max_length=2000, description="Up to 2000 concepts (the body is at most 1 MiB)"
    )


class ImportReport(OutputModel):
    convention: str
    read: int = Field(description="Concepts read (accepted names and synonyms)")
    added: int
    changed: int
    unchanged: int
    removed: int
    concepts: int = Field(description="Concepts in the register after the import")
    added_names: list[str] = Field(description="Up to 50 names added")
    changed_names: list[str] = Field(description="Up to 50 names changed")
    removed_names: list[str] = Field(description="Up to 50 names removed")
    discrepancies: int = Field(description="Discrepancy entries after recomputing the comparison")


class DiscrepancyActivity(OutputModel):
    id: uuid.UUID
    title: str


class Discrepancy(OutputModel):
    model_config = {
        "populate_by_name": True,
        "json_schema_extra": {
            "examples": [
                {
                    "id": 12,
                    "kind": "different_listing",
                    "relation": "",
                    "conventions": ["CITES", "CMS"],
                    "listed_by": ["CITES", "CMS"],
                    "appendices": ["CITES:I", "CITES:II", "CMS:II"],
                    "class": "mammalia",
                    "order": "proboscidea",
                    "family": "elephantidae",
                    "names": ["Loxodonta africana"],
                    "sentence": "CITES lists Loxodonta africana in Appendix I and Appendix II "
                    "(populations of Botswana, Namibia, South Africa, Zimbabwe); CMS lists "
                    "Loxodonta africana in Appendix II.",
                    "detail": {},
                    "activities": [],
                }
            ]
        },
    }

    id: int
    kind: DiscrepancyKind
    relation: str = Field(description="For different_names: renamed, split, lump or overlap")
    conventions: list[str]
    listed_by: list[str]
    appendices: list[str] = Field(description="`<convention>:<appendix>` of every listing")
    class_: str = Field(alias="class", serialization_alias="class")
    order: str
    family: str
    names: list[str]
    sentence: str
    detail: dict[str, Any] = Field(description="Per convention, the concepts and listings")
    activities: list[DiscrepancyActivity] = Field(description="Joint activities concerned")


class DiscrepancyCounts(OutputModel):
    counts: dict[str, int]
    total: int
    computed_at: datetime | None = Field(description="When the registers were last imported")
