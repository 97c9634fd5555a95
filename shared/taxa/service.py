"""The rules of the taxon registers: importing a convention's register, resolving names to
accepted concepts through synonyms, and comparing the registers."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import get_settings
from shared.errors import NotFound, Unprocessable
from shared.pagination import decode_cursor, split_page
from shared.taxa import compare, repository
from shared.taxa.sources import HIGHER_RANKS, ConceptIn, Register, concept_id

REPORTED_NAMES = 50


def name_key(name: str) -> str:
    """A name as the register indexes it: accents dropped, lower case, single spaces (the same
    normalisation as the database's `tandem_name_key`)."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split()).lower()


def require_convention(convention: str, conventions: tuple[str, ...], field: str) -> str:
    """The convention's code in upper case, or 422 naming the field."""
    code = convention.strip().upper()
    if code not in conventions:
        raise Unprocessable(
            f"{field} {convention!r} is not one of {', '.join(conventions)}",
            errors=[{"field": field, "message": "unknown convention", "type": "convention"}],
        )
    return code


def _columns(convention: str, concepts: list[ConceptIn]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {f: [] for f in repository.CONCEPT_FIELDS}
    for c in concepts:
        cols["id"].append(concept_id(convention, c.source_id))
        cols["source_id"].append(c.source_id)
        cols["full_name"].append(c.full_name)
        cols["author_year"].append(c.author_year)
        cols["rank"].append(c.rank)
        cols["name_status"].append(c.name_status)
        for rank, column in zip(
            HIGHER_RANKS,
            ("kingdom", "phylum", "class_name", "order_name", "family", "genus"),
            strict=True,
        ):
            cols[column].append(c.higher.get(rank))
        cols["common_names"].append(json.dumps(c.common_names, ensure_ascii=False))
        cols["content_hash"].append(c.content_hash())
    return cols


async def import_register(
    session: AsyncSession,
    register: Register,
    conventions: tuple[str, ...],
    *,
    partial: bool = False,
    reference: str | None = None,
) -> dict[str, Any]:
    """Write a convention's register as read: add new concepts, change those that differ,
    remove those absent (unless `partial`), then compare the registers again. Keyed by the
    source's taxon concept id, so importing the same files again changes nothing."""
    convention = require_convention(register.convention, conventions, "convention")
    concepts = sorted(register.concepts.values(), key=lambda c: c.source_id)
    added, changed = await repository.upsert_concepts(
        session, convention, _columns(convention, concepts)
    )
    removed: list[str] = []
    if not partial:
        removed = await repository.remove_absent(
            session, convention, [c.source_id for c in concepts]
        )
    ids = [concept_id(convention, c.source_id) for c in concepts]
    synonyms: list[uuid.UUID] = []
    accepted: list[uuid.UUID] = []
    for c, cid in zip(concepts, ids, strict=True):
        for target in c.accepted_source_ids:
            synonyms.append(cid)
            accepted.append(concept_id(convention, target))
    await repository.replace_synonymy(session, ids, (synonyms, accepted))
    listings = [
        (
            cid,
            li.appendix,
            li.population,
            li.annotation,
            li.effective_date,
            li.is_current,
            li.source,
        )
        for c, cid in zip(concepts, ids, strict=True)
        for li in c.listings
    ]
    await repository.replace_listings(session, ids, listings)
    await repository.analyze(session, "taxon_concept", "taxon_synonymy", "taxon_listing")
    total = await repository.save_register(session, convention, reference)
    entries = await recompute_discrepancies(session, conventions)
    return {
        "convention": convention,
        "read": len(concepts),
        "added": len(added),
        "changed": len(changed),
        "unchanged": len(concepts) - len(added) - len(changed),
        "removed": len(removed),
        "concepts": total,
        "added_names": sorted(added)[:REPORTED_NAMES],
        "changed_names": sorted(changed)[:REPORTED_NAMES],
        "removed_names": removed[:REPORTED_NAMES],
        "discrepancies": entries,
    }


def register_from_batch(
    convention: str, taxon_concepts: list[dict[str, Any]], conventions: tuple[str, ...]
) -> Register:
    """A register read from Species+ `taxon_concepts` objects sent in a request."""
    code = require_convention(convention, conventions, "body.convention")
    register = Register(code)
    register.read_species_plus("body", json.dumps({"taxon_concepts": taxon_concepts}))
    return register


async def recompute_discrepancies(session: AsyncSession, conventions: tuple[str, ...]) -> int:
    """Compare every pair of registers again and store the result; returns the entries."""
    registers: dict[str, list[compare.Concept]] = {}
    for conv in conventions:
        rows = await repository.accepted_concepts(session, conv)
        registers[conv] = [
            compare.Concept(
                id=r["id"],
                convention=conv,
                full_name=r["full_name"],
                author_year=r["author_year"],
                name_key=r["name_key"],
                class_name=r["class_name"],
                order_name=r["order_name"],
                family=r["family"],
                keys=frozenset((r["name_key"], *r["synonym_keys"])),
                synonyms=sorted(r["synonym_names"]),
                listings=list(zip(r["appendices"], r["populations"], strict=True)),
            )
            for r in rows
        ]
    references = {
        r["convention"]: r["nomenclature_reference"] for r in await repository.registers(session)
    }
    entries = compare.compare(registers, references)
    await repository.replace_discrepancies(
        session,
        [compare.as_record(e, repository.DISCREPANCY_COLUMNS) for e in entries],
    )
    await repository.analyze(session, "taxon_discrepancy")
    return len(entries)


def _summary(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "convention": r["convention"],
        "source_id": r["source_id"],
        "full_name": r["full_name"],
        "author_year": r["author_year"],
        "rank": r["rank"],
        "name_status": r["name_status"],
        "accepted": json.loads(r["accepted"]) if isinstance(r["accepted"], str) else r["accepted"],
        "higher_taxa": {
            "kingdom": r["kingdom"],
            "phylum": r["phylum"],
            "class": r["class_name"],
            "order": r["order_name"],
            "family": r["family"],
            "genus": r["genus"],
        },
        "common_names": json.loads(r["common_names"])
        if isinstance(r["common_names"], str)
        else r["common_names"],
        "appendices": list(r["appendices"]),
    }


async def search(
    session: AsyncSession,
    conventions: tuple[str, ...],
    *,
    q: str | None,
    convention: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Typing-ahead over the registers (`q`: the best `limit` matches), or every concept in
    name order, page by page."""
    chosen = (
        [require_convention(convention, conventions, "query.convention")]
        if convention
        else list(conventions)
    )
    if q is not None:
        key = name_key(q)
        if not key:
            raise Unprocessable(
                "q must hold a name",
                errors=[{"field": "query.q", "message": "empty name", "type": "value_error"}],
            )
        rows = await repository.typeahead(session, key, chosen, limit)
        return [_summary(r) for r in rows], None
    after = decode_cursor(cursor, (str, uuid.UUID)) if cursor else None
    rows = await repository.page(session, chosen, after, limit + 1)
    page, next_cursor = split_page(rows, limit, lambda r: (r["name_key"], str(r["id"])))
    return [_summary(r) for r in page], next_cursor


async def get(session: AsyncSession, taxon_id: uuid.UUID) -> dict[str, Any]:
    """One concept with its synonyms and listings, or NotFound."""
    row = await repository.find(session, taxon_id)
    if row is None:
        raise NotFound(f"No taxon concept {taxon_id}.")
    shown = _summary(row)
    shown["synonyms"] = [
        {"id": s["id"], "full_name": s["full_name"]}
        for s in await repository.synonyms_of(session, taxon_id)
    ]
    shown["listings"] = [dict(li) for li in await repository.listings_of(session, taxon_id)]
    return shown


async def resolve_names(
    session: AsyncSession, names: list[str], conventions: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """What each name stands for in each convention's taxonomy (through synonyms, any case
    and spacing), in the order given (conventions: those of the settings by default)."""
    if not names:
        return []
    if conventions is None:
        conventions = get_settings().taxa_convention_codes
    rows = await repository.resolve(session, sorted(set(names)), list(conventions))
    return resolved_names(names, rows, conventions)


def resolution_of_names(names: str, conventions: str) -> str:
    """SQL for another domain's statement: a column holding what the names in the SQL text
    array `names` stand for in the conventions of the SQL text array `conventions`, in the
    same round trip; `resolved_names` reads it (see the repository)."""
    return repository.resolution_of_names(names, conventions)


def resolved_names(
    names: list[str], rows: Sequence[Sequence[Any]] | None, conventions: tuple[str, ...]
) -> list[dict[str, Any]]:
    """`resolve_names`' answer from the rows of a resolution (name, convention, id,
    full_name, source_id, via_synonym; None for none), such as `resolution_of_names` gives."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for found_name, convention, id_, full_name, source_id, via_synonym in rows or ():
        found.setdefault(found_name, {}).setdefault(convention, []).append(
            {"id": id_, "full_name": full_name, "source_id": source_id, "via_synonym": via_synonym}
        )
    out = []
    for name in names:
        per = found.get(name, {})
        shown = {conv: per.get(conv, []) for conv in conventions}
        hits = sum(1 for v in shown.values() if v)
        status = (
            "unresolved"
            if hits == 0
            else "resolved"
            if hits == len(conventions)
            else "partly_resolved"
        )
        out.append({"name": name, "status": status, "conventions": shown})
    return out


async def names_for_species(session: AsyncSession, name: str) -> list[str]:
    """Every normalised name that stands for the same taxon as `name` (itself included), in
    any convention's taxonomy: what an activity search by species matches."""
    key = name_key(name)
    return sorted({key, *await repository.equivalent_keys(session, [key])})


async def names_under_taxon(session: AsyncSession, taxon: str) -> list[str]:
    """Every normalised name of the taxon and of the species below it, in any taxonomy."""
    return await repository.keys_under_taxon(session, name_key(taxon))


def _discrepancy_filters(
    conventions: tuple[str, ...],
    *,
    kind: str | None,
    class_: str | None,
    order: str | None,
    family: str | None,
    appendix: str | None,
    convention: str | None,
    covered_by_activity: bool | None,
) -> dict[str, Any]:
    code = require_convention(convention, conventions, "query.convention") if convention else None
    return {
        "kind": kind,
        "class": name_key(class_) if class_ else None,
        "order": name_key(order) if order else None,
        "family": name_key(family) if family else None,
        "convention": code,
        "appendix_tags": [f"{c}:{appendix}" for c in ([code] if code else conventions)]
        if appendix
        else None,
        "covered": covered_by_activity,
    }


def _discrepancy(r: Any) -> dict[str, Any]:
    def loaded(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    return {
        "id": r["id"],
        "kind": r["kind"],
        "relation": r["relation"],
        "conventions": list(r["conventions"]),
        "listed_by": list(r["listed_by"]),
        "appendices": list(r["appendices"]),
        "class": r["class_key"],
        "order": r["order_key"],
        "family": r["family_key"],
        "names": list(r["names"]),
        "sentence": r["sentence"],
        "detail": loaded(r["detail"]),
        "activities": loaded(r["activities"]),
    }


async def discrepancies(
    session: AsyncSession,
    conventions: tuple[str, ...],
    *,
    cursor: str | None,
    limit: int | None,
    **filters: Any,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the discrepancy report (every entry when `limit` is None)."""
    chosen = _discrepancy_filters(conventions, **filters)
    after = decode_cursor(cursor, (int,))[0] if cursor else None
    rows = await repository.discrepancies(
        session, chosen, after, None if limit is None else limit + 1
    )
    if limit is None:
        return [_discrepancy(r) for r in rows], None
    page, next_cursor = split_page(rows, limit, lambda r: (r["id"],))
    return [_discrepancy(r) for r in page], next_cursor


async def discrepancy_counts(
    session: AsyncSession, conventions: tuple[str, ...], **filters: Any
) -> dict[str, Any]:
    """How many discrepancies of each kind, and when the registers were last imported."""
    counts = await repository.discrepancy_counts(
        session, _discrepancy_filters(conventions, **filters)
    )
    every = {kind: counts.get(kind, 0) for kind in compare.KIND_ORDER}
    imported = [r["imported_at"] for r in await repository.registers(session)]
    return {
        "counts": every,
        "total": sum(every.values()),
        "computed_at": max(imported) if imported else None,
    }


CSV_COLUMNS = (
    "kind",
    "relation",
    "conventions",
    "listed_by",
    "appendices",
    "class",
    "order",
    "family",
    "names",
    "sentence",
    "joint_activities",
)


def discrepancies_csv(entries: list[dict[str, Any]]) -> str:
    """The report as CSV for a meeting document (UTF-8 with BOM, so spreadsheets read
    accents; formula-like cells neutralised)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e["kind"],
                e["relation"],
                "; ".join(e["conventions"]),
                "; ".join(e["listed_by"]),
                "; ".join(e["appendices"]),
                _safe_cell(e["class"]),
                _safe_cell(e["order"]),
                _safe_cell(e["family"]),
                _safe_cell("; ".join(e["names"])),
                _safe_cell(e["sentence"]),
                _safe_cell("; ".join(a["title"] for a in e["activities"])),
            ]
        )
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
