"""Reading a convention's register from files: Species+ API v1 `taxon_concepts` pages (JSON)
and the documented CSV of the same content. Pure: text in, concepts out, no database.

Fields read from each taxon concept of a Species+ page (`{"taxon_concepts": [...]}`):
`id` (the permanent key), `full_name`, `author_year`, `rank`, `name_status`, `active`
(false: treated as absent), `higher_taxa` (`kingdom`, `phylum`, `class`, `order`, `family`,
and `genus` when given; otherwise the genus is the first word of a species' name),
`synonyms` (`id`, `full_name`, `author_year`, `rank`), `accepted_names` (of a synonym, the
same shape), `common_names` (`name`, `language`) and the convention's listings: for
taxonomy CITES `cites_listings`, for CMS `cms_listings` (any other convention:
`<convention>_listings`, or `listings`), each with `appendix`, `party` (`name`: the population
of a split listing), `annotation`, `hash_annotation` (`symbol`, `full_note`), `effective_at`,
and `is_current` (default true: the listing endpoint returns current listings). A listing may
carry `source` (where it was taken from), which Tandem keeps. Anything else is ignored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.errors import Unprocessable

# Concept ids are derived from (convention, source id): the same concept gets the same id on
# every import and in every database, so an import never needs to read ids back.
_NAMESPACE = uuid.UUID("6f1d4a52-8d0c-4f3e-9b1e-5b7a0c2e9d11")
HIGHER_RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")
_SPECIES_RANKS = {"SPECIES", "SUBSPECIES", "VARIETY"}
_APPENDICES = {"I", "II", "III"}

CSV_COLUMNS = (
    "id",
    "full_name",
    "author_year",
    "rank",
    "name_status",
    "accepted_id",
    "kingdom",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "common_name",
    "common_name_language",
    "appendix",
    "population",
    "annotation",
    "effective_date",
    "is_current",
    "source",
)


def concept_id(convention: str, source_id: int) -> uuid.UUID:
    """The register's id of a source's taxon concept."""
    return uuid.uuid5(_NAMESPACE, f"{convention}:{source_id}")


@dataclass(slots=True)
class ListingIn:
    appendix: str
    population: str | None
    annotation: str
    effective_date: date | None
    is_current: bool
    source: str


@dataclass(slots=True)
class ConceptIn:
    source_id: int
    full_name: str
    author_year: str
    rank: str
    name_status: str
    higher: dict[str, str | None] = field(default_factory=dict)
    common_names: list[dict[str, str]] = field(default_factory=list)
    accepted_source_ids: list[int] = field(default_factory=list)
    listings: list[ListingIn] = field(default_factory=list)

    def content_hash(self) -> str:
        """A digest of everything imported for this concept (changed when it differs)."""
        doc = [
            self.full_name,
            self.author_year,
            self.rank,
            self.name_status,
            [self.higher.get(r) for r in HIGHER_RANKS],
            self.common_names,
            sorted(set(self.accepted_source_ids)),
            sorted(
                (
                    li.appendix,
                    li.population or "",
                    li.annotation,
                    li.effective_date.isoformat() if li.effective_date else "",
                    li.is_current,
                    li.source,
                )
                for li in self.listings
            ),
        ]
        return hashlib.md5(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


class Register:
    """Concepts read so far for one convention, merged by source id."""

    def __init__(self, convention: str) -> None:
        self.convention = convention
        self.concepts: dict[int, ConceptIn] = {}
        self.inactive: set[int] = set()

    def add(self, concept: ConceptIn, *, nested: bool = False) -> None:
        """Add a concept; a synonym seen only inside its accepted name's `synonyms` gives way
        to its own entry, and accepted-name links from both are kept."""
        if concept.source_id in self.inactive:
            return
        known = self.concepts.get(concept.source_id)
        if known is None:
            self.concepts[concept.source_id] = concept
            return
        links = sorted({*known.accepted_source_ids, *concept.accepted_source_ids})
        if nested:
            known.accepted_source_ids = links
        else:
            concept.accepted_source_ids = links
            self.concepts[concept.source_id] = concept

    def drop(self, source_id: int) -> None:
        self.inactive.add(source_id)
        self.concepts.pop(source_id, None)

    def read(self, name: str, text: str) -> int:
        """Read one file (JSON page or CSV, told apart by its content); returns its concepts."""
        stripped = text.lstrip("\ufeff \t\r\n")
        if stripped[:1] in ("{", "["):
            return self.read_species_plus(name, stripped)
        return self.read_csv(name, stripped)

    def read_species_plus(self, name: str, text: str) -> int:
        """Read one saved page of Species+ `taxon_concepts`."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad(name, f"is not JSON ({exc.msg}, line {exc.lineno})") from exc
        items = doc.get("taxon_concepts") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise _bad(name, "has no `taxon_concepts` list")
        for i, raw in enumerate(items):
            self._species_plus_concept(f"{name}: taxon_concepts[{i}]", raw)
        return len(items)

    def _species_plus_concept(self, where: str, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise _bad(where, "is not an object")
        source_id = _int(where, "id", raw.get("id"))
        if raw.get("active") is False:
            self.drop(source_id)
            return
        full_name = _text(where, "full_name", raw.get("full_name"), required=True)
        rank = _text(where, "rank", raw.get("rank")) or "SPECIES"
        status = _text(where, "name_status", raw.get("name_status")) or "A"
        if status not in ("A", "S", "N", "T", "H"):
            raise _bad(where, f"name_status {status!r} is not one of A, S, N, T, H")
        higher_raw = raw.get("higher_taxa") or {}
        if not isinstance(higher_raw, dict):
            raise _bad(where, "higher_taxa is not an object")
        higher = {
            r: _text(where, f"higher_taxa.{r}", higher_raw.get(r)) or None for r in HIGHER_RANKS
        }
        higher["genus"] = higher["genus"] or _genus(full_name, rank)
        listings_raw = raw.get(f"{self.convention.lower()}_listings", raw.get("listings")) or []
        if not isinstance(listings_raw, list):
            raise _bad(where, "listings are not a list")
        concept = ConceptIn(
            source_id=source_id,
            full_name=full_name,
            author_year=_text(where, "author_year", raw.get("author_year")),
            rank=rank.upper(),
            name_status=status,
            higher=higher if status == "A" else dict.fromkeys(HIGHER_RANKS),
            common_names=_common_names(where, raw.get("common_names") or []),
            accepted_source_ids=[
                _int(where, "accepted_names.id", a.get("id") if isinstance(a, dict) else a)
                for a in raw.get("accepted_names") or []
            ],
            listings=[_listing(f"{where}.listings[{j}]", li) for j, li in enumerate(listings_raw)],
        )
        self.add(concept)
        for j, syn in enumerate(raw.get("synonyms") or []):
            at = f"{where}.synonyms[{j}]"
            if not isinstance(syn, dict):
                raise _bad(at, "is not an object")
            self.add(
                ConceptIn(
                    source_id=_int(at, "id", syn.get("id")),
                    full_name=_text(at, "full_name", syn.get("full_name"), required=True),
                    author_year=_text(at, "author_year", syn.get("author_year")),
                    rank=(_text(at, "rank", syn.get("rank")) or rank).upper(),
                    name_status="S",
                    higher=dict.fromkeys(HIGHER_RANKS),
                    accepted_source_ids=[source_id],
                ),
                nested=True,
            )

    def read_csv(self, name: str, text: str) -> int:
        """Read the CSV form: one row per concept, or several rows with the same `id` each
        adding an accepted name, a common name or a listing (columns: CSV_COLUMNS)."""
        reader = csv.DictReader(io.StringIO(text))
        missing = {"id", "full_name"} - set(reader.fieldnames or ())
        if missing:
            raise _bad(name, f"lacks the column(s) {', '.join(sorted(missing))}")
        unknown = set(reader.fieldnames or ()) - set(CSV_COLUMNS)
        if unknown:
            raise _bad(name, f"has unknown column(s) {', '.join(sorted(unknown))}")
        seen: dict[int, ConceptIn] = {}
        for line, row in enumerate(reader, start=2):
            where = f"{name}: line {line}"
            cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
            source_id = _int(where, "id", cells.get("id"))
            concept = seen.get(source_id)
            if concept is None:
                status = cells.get("name_status") or "A"
                if status not in ("A", "S", "N", "T", "H"):
                    raise _bad(where, f"name_status {status!r} is not one of A, S, N, T, H")
                full_name = _text(where, "full_name", cells.get("full_name"), required=True)
                rank = (cells.get("rank") or "SPECIES").upper()
                higher = {r: cells.get(r) or None for r in HIGHER_RANKS}
                if status == "A":
                    higher["genus"] = higher["genus"] or _genus(full_name, rank)
                concept = ConceptIn(
                    source_id=source_id,
                    full_name=full_name,
                    author_year=cells.get("author_year", ""),
                    rank=rank,
                    name_status=status,
                    higher=higher,
                )
                seen[source_id] = concept
            if cells.get("accepted_id"):
                concept.accepted_source_ids.append(_int(where, "accepted_id", cells["accepted_id"]))
            if cells.get("common_name"):
                concept.common_names.append(
                    {
                        "name": cells["common_name"],
                        "language": cells.get("common_name_language", "").upper(),
                    }
                )
            if cells.get("appendix"):
                concept.listings.append(
                    _listing(
                        where,
                        {
                            "appendix": cells["appendix"],
                            "party": {"name": cells.get("population")}
                            if cells.get("population")
                            else None,
                            "annotation": cells.get("annotation", ""),
                            "effective_at": cells.get("effective_date") or None,
                            "is_current": cells.get("is_current", "").lower()
                            not in ("false", "0", "no"),
                            "source": cells.get("source", ""),
                        },
                    )
                )
        for concept in seen.values():
            self.add(concept)
        return len(seen)


def _bad(where: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"{where} {message}",
        errors=[{"field": where, "message": message, "type": "taxa_import"}],
    )


def _int(where: str, name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(where, f"{name} {value!r} is not an integer id") from None
    if number <= 0:
        raise _bad(where, f"{name} {value!r} is not a positive id")
    return number


def _text(where: str, name: str, value: Any, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise _bad(where, f"lacks {name}")
        return ""
    if not isinstance(value, str):
        raise _bad(where, f"{name} is not a string")
    text = " ".join(value.split())
    if len(text) > 255:
        raise _bad(where, f"{name} is longer than 255 characters")
    return text


def _genus(full_name: str, rank: str) -> str | None:
    rank = rank.upper()
    if rank in _SPECIES_RANKS or rank == "GENUS":
        return full_name.split(" ", 1)[0]
    return None


def _common_names(where: str, raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        raise _bad(where, "common_names is not a list")
    out = []
    for item in raw:
        if isinstance(item, dict) and item.get("name"):
            out.append(
                {
                    "name": _text(where, "common_names.name", item["name"]),
                    "language": _text(where, "common_names.language", item.get("language")).upper()[
                        :8
                    ],
                }
            )
    return out


def _listing(where: str, raw: Any) -> ListingIn:
    if not isinstance(raw, dict):
        raise _bad(where, "is not an object")
    appendix = _text(where, "appendix", raw.get("appendix"), required=True).upper()
    if appendix not in _APPENDICES:
        raise _bad(where, f"appendix {appendix!r} is not one of I, II, III")
    party = raw.get("party")
    population = None
    if isinstance(party, dict):
        population = _text(where, "party.name", party.get("name")) or None
    elif isinstance(party, str):
        population = _text(where, "party", party) or None
    annotation = raw.get("annotation") or ""
    if not isinstance(annotation, str):
        raise _bad(where, "annotation is not a string")
    hash_note = raw.get("hash_annotation")
    if isinstance(hash_note, dict) and hash_note.get("full_note"):
        symbol = str(hash_note.get("symbol") or "#")
        annotation = f"{annotation} {symbol} {hash_note['full_note']}".strip()
    effective = raw.get("effective_at") or raw.get("effective_date")
    try:
        effective_date = date.fromisoformat(str(effective)[:10]) if effective else None
    except ValueError:
        raise _bad(where, f"effective_at {effective!r} is not a date (YYYY-MM-DD)") from None
    source = raw.get("source") or ""
    return ListingIn(
        appendix=appendix,
        population=population,
        annotation=" ".join(annotation.split()),
        effective_date=effective_date,
        is_current=raw.get("is_current") is not False,
        source=str(source),
    )
