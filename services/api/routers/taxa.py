"""The conventions' taxon registers (read; import by admin) and the discrepancy report."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from services.api.auth import AdminKey, ReadKey
from services.api.conventions import json_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import Cursor, Limit, page_response, problems
from shared.schemas import Page
from shared.taxa import service
from shared.taxa.schemas import (
    Discrepancy,
    DiscrepancyCounts,
    DiscrepancyKind,
    ImportReport,
    TaxaImport,
    TaxonRead,
    TaxonSummary,
)

router = APIRouter(tags=["taxa"])

Convention = Annotated[
    str | None,
    Query(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9]+$", description="e.g. CITES"),
]
HigherTaxon = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.get(
    "/taxa",
    summary="Taxon concepts of the conventions (typing-ahead with q)",
    response_model=Page[TaxonSummary],
    responses=problems(400, 422),
)
async def list_taxa(
    session: SessionDep,
    settings: SettingsDep,
    _key: ReadKey,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Part of a scientific name, any case and accents: the best matches "
            "across the taxonomies, names starting with it first (no next page)",
        ),
    ] = None,
    convention: Convention = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.search(
        session,
        settings.taxa_convention_codes,
        q=q,
        convention=convention,
        cursor=cursor,
        limit=limit,
    )
    return page_response(items, next_cursor)


@router.get(
    "/taxa/{taxon_id}",
    summary="One taxon concept with its synonyms and listings",
    response_model=TaxonRead,
    responses=problems(404),
)
async def get_taxon(taxon_id: uuid.UUID, session: SessionDep, _key: ReadKey) -> Response:
    return json_response(await service.get(session, taxon_id))


@router.post(
    "/taxa:import",
    summary="Import a batch of Species+ taxon concepts into a convention's register",
    response_model=ImportReport,
    responses=problems(413, 422),
)
async def import_taxa(
    body: TaxaImport, session: SessionDep, settings: SettingsDep, _key: AdminKey
) -> Response:
    conventions = settings.taxa_convention_codes
    register = service.register_from_batch(body.convention, body.taxon_concepts, conventions)
    report = await service.import_register(
        session,
        register,
        conventions,
        partial=body.partial,
        reference=body.nomenclature_reference,
    )
    return json_response(report)


@router.get(
    "/listings/discrepancies",
    summary="Where the conventions' appendices and names differ (JSON or CSV)",
    response_model=Page[Discrepancy],
    responses={
        **problems(400, 422),
        200: {
            "description": "The report; `Accept: text/csv` or `format=csv` gives every entry "
            "as CSV for a meeting document",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def list_discrepancies(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _key: ReadKey,
    kind: DiscrepancyKind | None = None,
    class_: Annotated[HigherTaxon, Query(alias="class")] = None,
    order: HigherTaxon = None,
    family: HigherTaxon = None,
    appendix: Annotated[Literal["I", "II", "III"] | None, Query()] = None,
    convention: Convention = None,
    covered_by_activity: Annotated[
        bool | None,
        Query(description="true: only taxa a joint activity covers; false: only those none does"),
    ] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    filters = {
        "kind": kind,
        "class_": class_,
        "order": order,
        "family": family,
        "appendix": appendix,
        "convention": convention,
        "covered_by_activity": covered_by_activity,
    }
    codes = settings.taxa_convention_codes
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        entries, _ = await service.discrepancies(session, codes, cursor=None, limit=None, **filters)
        return Response(
            service.discrepancies_csv(entries),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="listing_discrepancies.csv"'},
        )
    items, next_cursor = await service.discrepancies(
        session, codes, cursor=cursor, limit=limit, **filters
    )
    return page_response(items, next_cursor)


@router.get(
    "/listings/discrepancies/counts",
    summary="How many discrepancies of each kind (the dashboard's panel)",
    response_model=DiscrepancyCounts,
    responses=problems(422),
)
async def discrepancy_counts(
    session: SessionDep,
    settings: SettingsDep,
    _key: ReadKey,
    class_: Annotated[HigherTaxon, Query(alias="class")] = None,
    order: HigherTaxon = None,
    family: HigherTaxon = None,
    appendix: Annotated[Literal["I", "II", "III"] | None, Query()] = None,
    convention: Convention = None,
    covered_by_activity: bool | None = None,
) -> Response:
    counts = await service.discrepancy_counts(
        session,
        settings.taxa_convention_codes,
        kind=None,
        class_=class_,
        order=order,
        family=family,
        appendix=appendix,
        convention=convention,
        covered_by_activity=covered_by_activity,
    )
    return json_response(counts)
