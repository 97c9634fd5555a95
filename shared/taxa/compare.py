"""Comparing the conventions' registers: pure, concepts in, discrepancies out.

Two accepted concepts of two conventions are the same taxon when they share a name: the
accepted name of one, or one of its synonyms, is a name (accepted or synonym) of the other.
Concepts joined that way form groups (connected components); a group with one concept on each
side is the usual case, one concept against several is a split (or, seen from the other
side, a lump). Each group with a listing on either side is compared:

- `listed_by_one_only`: one convention lists the taxon, the other does not (it may know the
  taxon without listing it, or not know it at all);
- `different_listing`: both list it, in different appendices or with different split
  populations (populations compared only when both sides have one concept each);
- `different_names`: the taxon is accepted under different names (`relation` `renamed`),
  or one convention's concept answers to several of the other's (`split`, `lump`,
  `overlap`);
- `not_covered`: a listed concept of one convention; whether a joint activity covers it
  depends on the activities of the day, so the report filters these when it is read.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

KIND_ORDER = ("different_listing", "listed_by_one_only", "different_names", "not_covered")


@dataclass(slots=True)
class Concept:
    id: uuid.UUID
    convention: str
    full_name: str
    author_year: str
    name_key: str
    class_name: str | None
    order_name: str | None
    family: str | None
    keys: frozenset[str]
    synonyms: list[str]
    listings: list[tuple[str, str]]  # (appendix, population or "")


def describe(listings: list[tuple[str, str]]) -> str:
    """A listing in words: "Appendix I and Appendix II (populations of A, B)"."""
    if not listings:
        return "no appendix"
    by_appendix: dict[str, list[str]] = defaultdict(list)
    for appendix, population in listings:
        by_appendix[appendix].append(population)
    parts = []
    for appendix in sorted(by_appendix, key=("I", "II", "III").index):
        populations = sorted({p for p in by_appendix[appendix] if p})
        whole = any(not p for p in by_appendix[appendix])
        if populations and not whole:
            noun = "population" if len(populations) == 1 else "populations"
            parts.append(f"Appendix {appendix} ({noun} of {', '.join(populations)})")
        else:
            parts.append(f"Appendix {appendix}")
    return " and ".join(parts)


def _names(concepts: list[Concept]) -> str:
    names = [c.full_name for c in concepts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class _Groups:
    def __init__(self) -> None:
        self.parent: dict[uuid.UUID, uuid.UUID] = {}

    def find(self, x: uuid.UUID) -> uuid.UUID:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def union(self, x: uuid.UUID, y: uuid.UUID) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            self.parent[ry] = rx


def compare(
    registers: dict[str, list[Concept]], references: dict[str, str]
) -> list[dict[str, Any]]:
    """Every discrepancy between each pair of registers, ordered by kind, family and name."""
    entries: list[dict[str, Any]] = []
    related: dict[uuid.UUID, set[str]] = defaultdict(set)
    for a_conv, b_conv in itertools.combinations(registers, 2):
        a_list, b_list = registers[a_conv], registers[b_conv]
        by_key: dict[str, list[Concept]] = defaultdict(list)
        for b in b_list:
            for key in b.keys:
                by_key[key].append(b)
        groups = _Groups()
        for a in a_list:
            for key in a.keys:
                for b in by_key.get(key, ()):
                    groups.union(a.id, b.id)
        members: dict[uuid.UUID, tuple[list[Concept], list[Concept]]] = defaultdict(
            lambda: ([], [])
        )
        for a in a_list:
            members[groups.find(a.id)][0].append(a)
        for b in b_list:
            members[groups.find(b.id)][1].append(b)
        for side_a, side_b in members.values():
            if side_a and side_b:
                keys = frozenset().union(*(c.keys for c in side_a + side_b))
                for c in side_a + side_b:
                    related[c.id] |= keys
            if any(c.listings for c in side_a + side_b):
                entries.extend(_group_entries(a_conv, b_conv, side_a, side_b, references))
    for conv, concepts in registers.items():
        for c in concepts:
            if c.listings:
                entries.append(_not_covered(conv, c, related.get(c.id, set())))
    entries.sort(key=lambda e: (KIND_ORDER.index(e["kind"]), e["family_key"], e["names"]))
    return entries


def _group_entries(
    a_conv: str,
    b_conv: str,
    side_a: list[Concept],
    side_b: list[Concept],
    references: dict[str, str],
) -> list[dict[str, Any]]:
    out = []
    a_listed = [li for c in side_a for li in c.listings]
    b_listed = [li for c in side_b for li in c.listings]
    base = (a_conv, b_conv, side_a, side_b)
    if not side_b or not side_a:
        conv, other, side = (a_conv, b_conv, side_a) if side_a else (b_conv, a_conv, side_b)
        sentence = (
            f"{conv} lists {_names(side)} in {describe([li for c in side for li in c.listings])};"
            f" {other} has no taxon of that name."
        )
        return [_entry("listed_by_one_only", "", *base, sentence, references)]
    if len(side_a) > 1 or len(side_b) > 1:
        if len(side_a) == 1:
            relation = "split"
            sentence = (
                f"{a_conv} treats as one taxon, {side_a[0].full_name}, what {b_conv} splits "
                f"into {len(side_b)}: {_names(side_b)}."
            )
        elif len(side_b) == 1:
            relation = "lump"
            sentence = (
                f"{b_conv} treats as one taxon, {side_b[0].full_name}, what {a_conv} splits "
                f"into {len(side_a)}: {_names(side_a)}."
            )
        else:
            relation = "overlap"
            sentence = (
                f"{a_conv}'s {_names(side_a)} and {b_conv}'s {_names(side_b)} overlap: "
                "they share names without answering one to one."
            )
        out.append(
            _entry(
                "different_names", relation, *base, sentence + _refs(base, references), references
            )
        )
    elif side_a[0].name_key != side_b[0].name_key:
        sentence = (
            f"{a_conv} accepts {side_a[0].full_name} {side_a[0].author_year}".rstrip()
            + f" where {b_conv} accepts {side_b[0].full_name} {side_b[0].author_year}".rstrip()
            + " for the same taxon."
        )
        out.append(
            _entry(
                "different_names", "renamed", *base, sentence + _refs(base, references), references
            )
        )
    if bool(a_listed) != bool(b_listed):
        conv, other, side, other_side = (
            (a_conv, b_conv, side_a, side_b) if a_listed else (b_conv, a_conv, side_b, side_a)
        )
        sentence = (
            f"{conv} lists {_names(side)} in {describe([li for c in side for li in c.listings])};"
            f" {other} knows it as {_names(other_side)} but does not list it."
        )
        out.append(_entry("listed_by_one_only", "", *base, sentence, references))
    elif a_listed and b_listed:
        one_to_one = len(side_a) == 1 and len(side_b) == 1
        if one_to_one:
            differ = set(a_listed) != set(b_listed)
        else:
            differ = {a for a, _ in a_listed} != {b for b, _ in b_listed}
        if differ:
            sentence = (
                f"{a_conv} lists {_names(side_a)} in {describe(a_listed)}; "
                f"{b_conv} lists {_names(side_b)} in {describe(b_listed)}."
            )
            out.append(_entry("different_listing", "", *base, sentence, references))
    return out


def _refs(base: tuple[Any, ...], references: dict[str, str]) -> str:
    a_conv, b_conv = base[0], base[1]
    known = [(c, references.get(c, "")) for c in (a_conv, b_conv)]
    if not any(ref for _, ref in known):
        return ""
    return (
        " References: "
        + "; ".join(f"{c} follows {ref or 'an unstated reference'}" for c, ref in known)
        + "."
    )


def _detail(concepts: list[Concept], reference: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "concepts": [
            {
                "id": str(c.id),
                "full_name": c.full_name,
                "author_year": c.author_year,
                "synonyms": c.synonyms,
                "listings": [{"appendix": a, "population": p or None} for a, p in c.listings],
            }
            for c in concepts
        ],
    }


def _entry(
    kind: str,
    relation: str,
    a_conv: str,
    b_conv: str,
    side_a: list[Concept],
    side_b: list[Concept],
    sentence: str,
    references: dict[str, str],
) -> dict[str, Any]:
    concepts = side_a + side_b
    first = next((c for c in concepts if c.family), concepts[0])
    names = list(dict.fromkeys(c.full_name for c in concepts))
    return {
        "kind": kind,
        "relation": relation,
        "conventions": [a_conv, b_conv],
        "listed_by": [
            conv
            for conv, side in ((a_conv, side_a), (b_conv, side_b))
            if any(c.listings for c in side)
        ],
        "appendices": sorted({f"{c.convention}:{a}" for c in concepts for a, _ in c.listings}),
        "class_key": (first.class_name or "").lower(),
        "order_key": (first.order_name or "").lower(),
        "family_key": (first.family or "").lower(),
        "names": names,
        "name_keys": sorted(frozenset().union(*(c.keys for c in concepts))),
        "concept_ids": [c.id for c in concepts],
        "sentence": sentence,
        "detail": {
            a_conv: _detail(side_a, references.get(a_conv, "")),
            b_conv: _detail(side_b, references.get(b_conv, "")),
        },
    }


def _not_covered(conv: str, c: Concept, related_keys: set[str]) -> dict[str, Any]:
    return {
        "kind": "not_covered",
        "relation": "",
        "conventions": [conv],
        "listed_by": [conv],
        "appendices": sorted({f"{conv}:{a}" for a, _ in c.listings}),
        "class_key": (c.class_name or "").lower(),
        "order_key": (c.order_name or "").lower(),
        "family_key": (c.family or "").lower(),
        "names": [c.full_name],
        "name_keys": sorted(c.keys | related_keys),
        "concept_ids": [c.id],
        "sentence": f"{conv} lists {c.full_name} in {describe(c.listings)} and no joint activity "
        "covers it.",
        "detail": {conv: _detail([c], "")},
    }


def as_record(entry: dict[str, Any], columns: tuple[str, ...]) -> tuple[Any, ...]:
    """An entry as a row for COPY (detail as JSON text)."""
    return tuple(json.dumps(entry[c]) if c == "detail" else entry[c] for c in columns)
