"""Every SQL statement of the taxon registers.

Imports are set-based: one INSERT ... SELECT FROM unnest(...) upserts a whole register, listings
and discrepancies go in by COPY. All of it runs on the session's connection, inside its
transaction (the caller commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

_UPSERT = """
INSERT INTO taxon_concept AS t (
    id, convention, source_id, full_name, author_year, rank, name_status, kingdom, phylum,
    class_name, order_name, family, genus, common_names, content_hash, updated_at)
SELECT u.id, $1, u.source_id, u.full_name, u.author_year, u.rank, u.name_status, u.kingdom,
       u.phylum, u.class_name, u.order_name, u.family, u.genus, u.common_names::jsonb,
       u.content_hash, now()
FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
            $14::text[], $15::text[])
     AS u(id, source_id, full_name, author_year, rank, name_status, kingdom, phylum,
          class_name, order_name, family, genus, common_names, content_hash)
ON CONFLICT (convention, source_id) DO UPDATE SET
    full_name = excluded.full_name, author_year = excluded.author_year, rank = excluded.rank,
    name_status = excluded.name_status, kingdom = excluded.kingdom, phylum = excluded.phylum,
    class_name = excluded.class_name, order_name = excluded.order_name,
    family = excluded.family, genus = excluded.genus, common_names = excluded.common_names,
    content_hash = excluded.content_hash, updated_at = now()
WHERE t.content_hash <> excluded.content_hash
RETURNING (xmax = 0) AS inserted, full_name
"""

CONCEPT_FIELDS = (
    "id",
    "source_id",
    "full_name",
    "author_year",
    "rank",
    "name_status",
    "kingdom",
    "phylum",
    "class_name",
    "order_name",
    "family",
    "genus",
    "common_names",
    "content_hash",
)


async def _conn(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under `session`, inside the session's transaction if it has one
    (read sessions autocommit)."""
    connection = await session.connection()
    # Public: the pooled connection, its DBAPI adapter and the asyncpg connection under it.
    pooled: Any = connection.sync_connection.connection  # type: ignore[union-attr]
    driver: asyncpg.Connection = pooled.driver_connection
    if not pooled.dbapi_connection.autocommit and not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its own first statement: one
        # statement through it first, so ours run inside the transaction it commits.
        await connection.exec_driver_sql("SELECT 1")
    return driver


async def upsert_concepts(
    session: AsyncSession, convention: str, columns: dict[str, list[Any]]
) -> tuple[list[str], list[str]]:
    """Insert new concepts and update those whose content differs; returns the names added
    and the names changed (unchanged rows are not touched)."""
    conn = await _conn(session)
    rows = await conn.fetch(_UPSERT, convention, *(columns[f] for f in CONCEPT_FIELDS))
    added = [r["full_name"] for r in rows if r["inserted"]]
    changed = [r["full_name"] for r in rows if not r["inserted"]]
    return added, changed


# A big list is joined as a set (`IN (SELECT unnest(...))`, hashed), never compared element
# by element (`= ANY(...)` against 50,000 ids is a nested loop: tens of seconds).


async def remove_absent(
    session: AsyncSession, convention: str, keep_source_ids: list[int]
) -> list[str]:
    """Delete the convention's concepts not among `keep_source_ids`; returns their names."""
    conn = await _conn(session)
    rows = await conn.fetch(
        "DELETE FROM taxon_concept WHERE convention = $1"
        " AND source_id NOT IN (SELECT unnest($2::bigint[])) RETURNING full_name",
        convention,
        keep_source_ids,
    )
    return sorted(r["full_name"] for r in rows)


async def replace_synonymy(
    session: AsyncSession,
    synonym_ids: list[uuid.UUID],
    links: tuple[list[uuid.UUID], list[uuid.UUID]],
) -> None:
    """Replace the accepted-name links of these synonyms (links to absent concepts dropped)."""
    conn = await _conn(session)
    await conn.execute(
        "DELETE FROM taxon_synonymy WHERE synonym_id IN (SELECT unnest($1::uuid[]))", synonym_ids
    )
    await conn.execute(
        "INSERT INTO taxon_synonymy (synonym_id, accepted_id)"
        " SELECT DISTINCT u.s, u.a FROM unnest($1::uuid[], $2::uuid[]) AS u(s, a)"
        " JOIN taxon_concept cs ON cs.id = u.s JOIN taxon_concept ca ON ca.id = u.a"
        " WHERE u.s <> u.a",
        *links,
    )


LISTING_COLUMNS = (
    "taxon_concept_id",
    "appendix",
    "population",
    "annotation",
    "effective_date",
    "is_current",
    "source",
)


async def replace_listings(
    session: AsyncSession, concept_ids: list[uuid.UUID], records: Sequence[tuple[Any, ...]]
) -> None:
    """Replace the listings of these concepts with `records` (LISTING_COLUMNS)."""
    conn = await _conn(session)
    await conn.execute(
        "DELETE FROM taxon_listing WHERE taxon_concept_id IN (SELECT unnest($1::uuid[]))",
        concept_ids,
    )
    if records:
        await conn.copy_records_to_table(
            "taxon_listing", records=records, columns=list(LISTING_COLUMNS)
        )


async def save_register(session: AsyncSession, convention: str, reference: str | None) -> int:
    """Record that the convention's register was imported (and its reference, when given);
    returns how many concepts it holds."""
    conn = await _conn(session)
    count: int = await conn.fetchval(
        "INSERT INTO taxon_register AS r (convention, nomenclature_reference, concepts,"
        " imported_at)"
        " SELECT $1::varchar, coalesce($2::text, ''), count(*), now() FROM taxon_concept"
        " WHERE convention = $1::varchar"
        " ON CONFLICT (convention) DO UPDATE SET concepts = excluded.concepts,"
        " imported_at = now(),"
        " nomenclature_reference = coalesce($2::text, r.nomenclature_reference)"
        " RETURNING concepts",
        convention,
        reference,
    )
    return count


async def analyze(session: AsyncSession, *tables: str) -> None:
    """Refresh the planner's statistics of these tables after a bulk write: a register
    imported into empty tables otherwise keeps the estimate of an empty table, and the
    comparison's joins ran as nested loops (minutes instead of a second for 50,000
    concepts)."""
    conn = await _conn(session)
    await conn.execute("ANALYZE " + ", ".join(t for t in tables if t in _TABLES))


_TABLES = {"taxon_concept", "taxon_synonymy", "taxon_listing", "taxon_discrepancy"}


async def registers(session: AsyncSession) -> list[asyncpg.Record]:
    """Every convention's register: convention, nomenclature_reference, concepts, imported_at."""
    conn = await _conn(session)
    return list(await conn.fetch("SELECT * FROM taxon_register ORDER BY convention"))


_ACCEPTED = """
WITH syn AS (
    SELECT y.accepted_id, array_agg(s.name_key) AS keys, array_agg(s.full_name) AS names
    FROM taxon_synonymy y JOIN taxon_concept s ON s.id = y.synonym_id
    WHERE s.convention = $1 GROUP BY y.accepted_id
), lst AS (
    SELECT l.taxon_concept_id,
           array_agg(l.appendix ORDER BY l.appendix, l.population NULLS FIRST) AS appendices,
           array_agg(coalesce(l.population, '') ORDER BY l.appendix, l.population NULLS FIRST)
             AS populations
    FROM taxon_listing l
    WHERE l.is_current GROUP BY l.taxon_concept_id
)
SELECT c.id, c.full_name, c.name_key, c.author_year, c.class_name, c.order_name, c.family,
       coalesce(syn.keys, '{}') AS synonym_keys, coalesce(syn.names, '{}') AS synonym_names,
       coalesce(lst.appendices, '{}') AS appendices,
       coalesce(lst.populations, '{}') AS populations
FROM taxon_concept c
LEFT JOIN syn ON syn.accepted_id = c.id
LEFT JOIN lst ON lst.taxon_concept_id = c.id
WHERE c.convention = $1 AND c.name_status = 'A'
ORDER BY c.name_key, c.id
"""


async def accepted_concepts(session: AsyncSession, convention: str) -> list[asyncpg.Record]:
    """The convention's accepted concepts with their synonyms' names and current listings."""
    conn = await _conn(session)
    return list(await conn.fetch(_ACCEPTED, convention))


DISCREPANCY_COLUMNS = (
    "kind",
    "relation",
    "conventions",
    "listed_by",
    "appendices",
    "class_key",
    "order_key",
    "family_key",
    "names",
    "name_keys",
    "concept_ids",
    "sentence",
    "detail",
)


async def replace_discrepancies(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    """Replace the whole comparison with `records` (DISCREPANCY_COLUMNS)."""
    conn = await _conn(session)
    await conn.execute("DELETE FROM taxon_discrepancy")
    if records:
        await conn.copy_records_to_table(
            "taxon_discrepancy", records=records, columns=list(DISCREPANCY_COLUMNS)
        )


_SUMMARY = """
SELECT c.id, c.convention, c.source_id, c.full_name, c.name_key, c.author_year, c.rank,
       c.name_status, c.kingdom, c.phylum, c.class_name, c.order_name, c.family, c.genus,
       c.common_names,
       coalesce((SELECT array_agg(DISTINCT l.appendix ORDER BY l.appendix) FROM taxon_listing l
                 WHERE l.taxon_concept_id = c.id AND l.is_current), '{}') AS appendices,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'full_name', a.full_name)
                                  ORDER BY a.full_name)
                 FROM taxon_synonymy y JOIN taxon_concept a ON a.id = y.accepted_id
                 WHERE y.synonym_id = c.id), '[]') AS accepted
FROM taxon_concept c
"""


async def typeahead(
    session: AsyncSession, key: str, conventions: list[str], limit: int
) -> list[asyncpg.Record]:
    """Concepts whose normalised name contains `key`, in these conventions: names starting
    with it first, then the earlier the match and the shorter the name the better (the
    trigram index finds the candidates; no pg_trgm function is needed to rank them)."""
    conn = await _conn(session)
    pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        await conn.fetch(
            _SUMMARY + " WHERE c.name_key LIKE $1 AND c.convention = ANY($2::text[])"
            " ORDER BY strpos(c.name_key, $3), length(c.name_key), c.name_key, c.convention"
            " LIMIT $4",
            pattern,
            conventions,
            key,
            limit,
        )
    )


async def page(
    session: AsyncSession,
    conventions: list[str],
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Concepts in name order after `after` (name_key, id)."""
    conn = await _conn(session)
    if after is None:
        return list(
            await conn.fetch(
                _SUMMARY + " WHERE c.convention = ANY($1::text[]) ORDER BY c.name_key, c.id"
                " LIMIT $2",
                conventions,
                limit,
            )
        )
    return list(
        await conn.fetch(
            _SUMMARY + " WHERE c.convention = ANY($1::text[]) AND (c.name_key, c.id) > ($2, $3)"
            " ORDER BY c.name_key, c.id LIMIT $4",
            conventions,
            after[0],
            after[1],
            limit,
        )
    )


async def find(session: AsyncSession, concept_id: uuid.UUID) -> asyncpg.Record | None:
    """One concept's summary row, or None."""
    conn = await _conn(session)
    row: asyncpg.Record | None = await conn.fetchrow(_SUMMARY + " WHERE c.id = $1", concept_id)
    return row


async def synonyms_of(session: AsyncSession, concept_id: uuid.UUID) -> list[asyncpg.Record]:
    """The names that stand for this accepted concept."""
    conn = await _conn(session)
    return list(
        await conn.fetch(
            "SELECT s.id, s.full_name, s.author_year, s.rank FROM taxon_synonymy y"
            " JOIN taxon_concept s ON s.id = y.synonym_id WHERE y.accepted_id = $1"
            " ORDER BY s.full_name",
            concept_id,
        )
    )


async def listings_of(session: AsyncSession, concept_id: uuid.UUID) -> list[asyncpg.Record]:
    """A concept's listings, current first."""
    conn = await _conn(session)
    return list(
        await conn.fetch(
            "SELECT appendix, population, annotation, effective_date, is_current, source"
            " FROM taxon_listing WHERE taxon_concept_id = $1"
            " ORDER BY is_current DESC, appendix, population NULLS FIRST, effective_date",
            concept_id,
        )
    )


# Each name with its normalised form as the register computes it (`tandem_name_key`, as
# `name_key` column of taxon_concept), so a name resolves the same way on every path.
_RESOLUTION = """
SELECT q.name, a.convention, a.id, a.full_name, a.source_id, c.name_status <> 'A' AS via_synonym
FROM (SELECT DISTINCT n, tandem_name_key(n) FROM unnest({names}) AS n) AS q(name, key)
JOIN taxon_concept c ON c.name_key = q.key
LEFT JOIN taxon_synonymy y ON y.synonym_id = c.id AND c.name_status <> 'A'
JOIN taxon_concept a ON a.id = CASE WHEN c.name_status = 'A' THEN c.id ELSE y.accepted_id END
WHERE a.name_status = 'A' AND a.convention = ANY({conventions})
"""
_RESOLVE = (
    _RESOLUTION.format(names="$1::text[]", conventions="$2::text[]")
    + "ORDER BY q.name, a.convention, a.full_name"
)


async def resolve(
    session: AsyncSession, names: list[str], conventions: list[str]
) -> list[asyncpg.Record]:
    """For each name (any case, spacing and accents), the accepted concepts it stands for in
    each convention: name, convention, id, full_name, source_id, via_synonym."""
    conn = await _conn(session)
    return list(await conn.fetch(_RESOLVE, names, conventions))


def resolution_of_names(names: str, conventions: str) -> str:
    """A scalar subquery, for another statement's columns: `resolve` of the names in the SQL
    text array `names` (e.g. a column) in the conventions of the SQL text array `conventions`
    (e.g. a parameter), as anonymous records in the same order; NULL when there are none."""
    rows = _RESOLUTION.format(names=names, conventions=conventions)
    return (
        "(SELECT array_agg(ROW(r.name, r.convention, r.id, r.full_name, r.source_id,"
        f" r.via_synonym) ORDER BY r.name, r.convention, r.full_name) FROM ({rows}) AS r)"
    )


_EQUIVALENT = """
WITH accepted AS (
    SELECT DISTINCT a.id
    FROM taxon_concept c
    LEFT JOIN taxon_synonymy y ON y.synonym_id = c.id AND c.name_status <> 'A'
    JOIN taxon_concept a ON a.id = CASE WHEN c.name_status = 'A' THEN c.id ELSE y.accepted_id END
    WHERE c.name_key = ANY($1::text[]) AND a.name_status = 'A'
)
SELECT c.name_key FROM taxon_concept c JOIN accepted ON accepted.id = c.id
UNION
SELECT s.name_key FROM accepted
JOIN taxon_synonymy y ON y.accepted_id = accepted.id
JOIN taxon_concept s ON s.id = y.synonym_id
"""


async def equivalent_keys(session: AsyncSession, keys: list[str]) -> list[str]:
    """Every name (accepted and synonyms, any convention) of the accepted concepts these
    normalised names stand for."""
    conn = await _conn(session)
    return [r[0] for r in await conn.fetch(_EQUIVALENT, keys)]


_UNDER_TAXON = """
WITH accepted AS (
    SELECT c.id, c.name_key FROM taxon_concept c
    WHERE c.name_status = 'A' AND (c.higher_keys @> ARRAY[$1::text] OR c.name_key = $1)
)
SELECT name_key FROM accepted
UNION
SELECT s.name_key FROM accepted
JOIN taxon_synonymy y ON y.accepted_id = accepted.id
JOIN taxon_concept s ON s.id = y.synonym_id
"""


async def keys_under_taxon(session: AsyncSession, key: str) -> list[str]:
    """Every name (accepted and synonyms, any convention) of the taxon itself and of the
    accepted concepts below it (a kingdom, phylum, class, order, family or genus)."""
    conn = await _conn(session)
    return [r[0] for r in await conn.fetch(_UNDER_TAXON, key)]


# The entries some joint activity covers: one of the entry's names is the species of an
# activity. A hash join of the entries' names with the activities' names (about 40 ms over
# 43,000 entries); comparing each entry's names with every activity's names row by row
# (`name_keys && array`) took over a second, and a GIN index on name_keys was not chosen for
# an array of hundreds of names.
_COVERED = (
    "WITH covered AS MATERIALIZED (SELECT DISTINCT n.id"
    " FROM (SELECT c.id, unnest(c.name_keys) AS k FROM taxon_discrepancy c) AS n"
    " WHERE n.k IN (SELECT unnest(a.species_key) FROM activity a)) "
)


def _discrepancy_where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """The WHERE clause of the report for these filters (values as parameters only)."""
    clauses = ["(d.kind <> 'not_covered' OR cv.id IS NULL)"]
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    for name, column in (("class", "class_key"), ("order", "order_key"), ("family", "family_key")):
        if filters.get(name):
            clauses.append(f"d.{column} = {param(filters[name])}")
    if filters.get("kind"):
        clauses.append(f"d.kind = {param(filters['kind'])}")
    if filters.get("convention"):
        clauses.append(f"d.conventions @> ARRAY[{param(filters['convention'])}]::varchar[]")
    if filters.get("appendix_tags"):
        clauses.append(f"d.appendices && {param(filters['appendix_tags'])}::varchar[]")
    if filters.get("covered") is True:
        clauses.append("cv.id IS NOT NULL")
    elif filters.get("covered") is False:
        clauses.append("cv.id IS NULL")
    return " AND ".join(clauses), args


async def discrepancies(
    session: AsyncSession, filters: dict[str, Any], after: int | None, limit: int | None
) -> list[asyncpg.Record]:
    """Report entries in order after `after` (all of them when `limit` is None), each with
    the joint activities whose species are among its names."""
    where, args = _discrepancy_where(filters)
    if after is not None:
        args.append(after)
        where += f" AND d.id > ${len(args)}"
    tail = ""
    if limit is not None:
        args.append(limit)
        tail = f" LIMIT ${len(args)}"
    sql = (
        _COVERED + "SELECT d.id, d.kind, d.relation, d.conventions, d.listed_by, d.appendices,"
        " d.class_key, d.order_key, d.family_key, d.names, d.sentence, d.detail,"
        " coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'title', a.title)"
        "  ORDER BY a.title, a.id) FROM activity a WHERE a.species_key && d.name_keys), '[]')"
        "  AS activities"
        " FROM taxon_discrepancy d LEFT JOIN covered cv ON cv.id = d.id"
        f" WHERE {where} ORDER BY d.id{tail}"
    )
    conn = await _conn(session)
    return list(await conn.fetch(sql, *args))


async def discrepancy_counts(session: AsyncSession, filters: dict[str, Any]) -> dict[str, int]:
    """How many report entries of each kind match these filters."""
    where, args = _discrepancy_where(filters)
    conn = await _conn(session)
    rows = await conn.fetch(
        f"{_COVERED}SELECT d.kind, count(*) FROM taxon_discrepancy d"
        f" LEFT JOIN covered cv ON cv.id = d.id WHERE {where} GROUP BY d.kind",
        *args,
    )
    return {r[0]: r[1] for r in rows}
