"""The dashboard's languages: gettext catalogues (one .po file per language, read with Babel
when first needed, so running the page needs no compile step) and the choice of language from
`?lang=` or the browser's Accept-Language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.dates import format_date
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent / "locales"
# English is the language the strings are written in; French and Spanish are the conventions'
# other working languages.
LANGUAGES = {"en": "English", "fr": "Français", "es": "Español"}
DEFAULT = "en"
# How dates and numbers are written: British English, as the secretariats write it.
BABEL_LOCALES = {"en": "en_GB", "fr": "fr_FR", "es": "es_ES"}


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid -> translation for `language` (empty for English, whose msgids are the text).
    Untranslated and fuzzy entries are left out, so the English text shows instead."""
    if language == DEFAULT:
        return {}
    with (LOCALES / f"{language}.po").open("rb") as po:
        messages = read_po(po, locale=language)
    return {
        str(m.id): str(m.string)
        for m in messages
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def accepted_languages(header: str) -> list[str]:
    """The languages of an Accept-Language header, most wanted first (q=0 left out)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """The `lang` asked for when it is one we have, else the browser's best match, else
    English."""
    if asked in LANGUAGES:
        return asked
    preferred = accepted_languages(accept_language or "")
    return negotiate_locale(preferred, list(LANGUAGES), sep="-") or DEFAULT


def translator(language: str) -> Callable[..., str]:
    """A gettext for templates: `_("{n} hours", n=3)` with the placeholders filled in."""
    messages = catalogue(language)

    def gettext(message: str, **values: object) -> str:
        text = messages.get(message, message)
        return text.format(**values) if values else text

    return gettext


def long_date(day: date, language: str) -> str:
    """A date written out as the language does (1 December 2026, 1 décembre 2026...)."""
    return format_date(day, format="long", locale=BABEL_LOCALES[language])
