"""A realistic register of joint activities for the API benchmark, loaded with COPY."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

# (code, title, secretariat, body, UN/LOCODE, start, end)
MEETINGS = [
    ("CITES SC61", "61st meeting of the CITES Standing Committee", "CITES", "Standing Committee",
     "CH GVA", date(2011, 8, 15), date(2011, 8, 19)),
    ("CMS StC38", "38th meeting of the CMS Standing Committee", "CMS", "Standing Committee",
     "NO BGO", date(2011, 11, 19), date(2011, 11, 19)),
    ("CMS CoP10", "10th meeting of the Conference of the Parties to CMS", "CMS",
     "Conference of the Parties", "NO BGO", date(2011, 11, 20), date(2011, 11, 25)),
    ("CITES CoP16", "16th meeting of the Conference of the Parties to CITES", "CITES",
     "Conference of the Parties", "TH BKK", date(2013, 3, 3), date(2013, 3, 14)),
    ("CMS CoP11", "11th meeting of the Conference of the Parties to CMS", "CMS",
     "Conference of the Parties", "EC UIO", date(2014, 11, 4), date(2014, 11, 9)),
    ("CITES SC77", "77th meeting of the CITES Standing Committee", "CITES", "Standing Committee",
     "CH GVA", date(2023, 11, 6), date(2023, 11, 10)),
]  # fmt: skip
MEETING_CODES = [m[0] for m in MEETINGS]

THEMES = (
    "species",
    "listings_nomenclature",
    "governing_bodies",
    "nbsap",
    "funding",
    "liaison",
    "administration",
    "other",
)
STATUSES = ("planned", "ongoing", "completed", "dropped")
SPECIES = (
    "Loxodonta africana",
    "Loxodonta cyclotis",
    "Saiga tatarica",
    "Gorilla gorilla",
    "Gorilla beringei",
    "Carcharodon carcharias",
    "Cetorhinus maximus",
    "Rhincodon typus",
    "Sphyrna lewini",
    "Lamna nasus",
    "Mobula birostris",
    "Panthera uncia",
    "Acinonyx jubatus",
    "Chelonia mydas",
    "Falco cherrug",
    "Ursus maritimus",
)
SUBJECTS = {
    "species": [
        "Joint work on the {sp}",
        "Range State workshop on the {sp}",
        "Monitoring of illegal killing of the {sp}",
        "Conservation and trade review of the {sp}",
    ],
    "listings_nomenclature": [
        "Harmonising the nomenclature of the {sp} between the appendices",
        "Aligning the listings of the {sp}",
    ],
    "governing_bodies": ["Preparation of documents on the {sp} for the meeting"],
    "nbsap": ["Support to National Biodiversity Strategies and Action Plans ({n})"],
    "funding": ["Joint funding proposal for work on the {sp}"],
    "liaison": ["Biodiversity Liaison Group: joint position ({n})"],
    "administration": ["Shared ICT services for meeting registration ({n})"],
    "other": ["Joint outreach material ({n})"],
}
TAGS = ("elephants", "sharks", "great-apes", "saiga", "nomenclature", "meeting-prep", "capacity")


def activity_body(rng: random.Random, n: int) -> dict[str, Any]:
    """The writable fields of one realistic activity, as the API takes them."""
    theme = rng.choice(THEMES)
    species = rng.sample(SPECIES, rng.choice((0, 1, 1, 2, 3)))
    subject = rng.choice(SUBJECTS[theme]).format(sp=species[0] if species else "saiga", n=n)
    lead = rng.choice(("CITES", "CMS"))
    start = date(2011, 1, 1) + timedelta(days=rng.randrange(0, 5000))
    description = (
        f"{subject}. The CITES and CMS secretariats coordinate their support to range States, "
        "share the preparation of documents for their governing bodies and report jointly on "
        f"progress. Item {n} of the joint work programme."
    )
    return {
        "title": subject,
        "description": description,
        "theme": theme,
        "species": species,
        "lead_secretariat": lead,
        "partner_secretariats": ["CMS" if lead == "CITES" else "CITES"],
        "status": rng.choice(STATUSES),
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=rng.randrange(30, 1500))).isoformat(),
        "meeting_codes": rng.sample(MEETING_CODES, rng.choice((0, 1, 2))),
        "tags": rng.sample(TAGS, rng.choice((0, 1, 2))),
    }


ACTIVITY_COLUMNS = (
    "id",
    "title",
    "description",
    "theme",
    "species",
    "lead_secretariat_code",
    "partner_secretariat_codes",
    "status",
    "start_date",
    "end_date",
    "meeting_codes",
    "tags",
    "version",
    "created_at",
    "updated_at",
)


async def load(dsn: str, count: int, seed: int = 61) -> list[str]:
    """Insert the meetings and `count` activities; returns the activities' ids."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn)
    try:
        now = datetime.now(UTC)
        await conn.executemany(
            "INSERT INTO meeting (code, title, secretariat_code, body, location, start_date,"
            " end_date) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            MEETINGS,
        )
        records = []
        for n in range(count):
            body = activity_body(rng, n)
            created = now - timedelta(days=400) + timedelta(seconds=n * 3)
            records.append(
                (
                    uuid.uuid4(),
                    body["title"],
                    body["description"],
                    body["theme"],
                    body["species"],
                    body["lead_secretariat"],
                    body["partner_secretariats"],
                    body["status"],
                    date.fromisoformat(body["start_date"]),
                    date.fromisoformat(body["end_date"]),
                    body["meeting_codes"],
                    body["tags"],
                    1,
                    created,
                    created,
                )
            )
        await conn.copy_records_to_table("activity", records=records, columns=ACTIVITY_COLUMNS)
        await conn.execute("VACUUM ANALYZE activity")
        await conn.execute("VACUUM ANALYZE meeting")
        return [str(r[0]) for r in records]
    finally:
        await conn.close()
