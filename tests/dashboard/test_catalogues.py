"""The workbench in three languages: every message the page can show has its French and
Spanish translation, with the same placeholders."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from services.api.dashboard import i18n
from services.api.routers.dashboard import HERE, PANELS, STATIC

# t("...") translates a message where it is shown; N_("...") marks one kept in a table.
_JS_MESSAGE = re.compile(r'\b(?:t|N_)\(\s*"((?:[^"\\]|\\.)*)"')
_TEMPLATE_MESSAGE = re.compile(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*[,)]')
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def messages_of_the_page() -> set[str]:
    """Every msgid the template, the panel list and the script use."""
    script = (STATIC / "dashboard.js").read_text()
    template = (HERE / "templates" / "dashboard.html").read_text()
    found = {json.loads(f'"{m}"') for m in _JS_MESSAGE.findall(script)}
    found |= set(_TEMPLATE_MESSAGE.findall(template))
    found |= {panel.title for panel in PANELS}
    return found


def test_the_page_has_messages_to_translate() -> None:
    assert {"Needs my decision", "Nothing is waiting for your decision."} <= messages_of_the_page()


# Text written where the catalogues cannot see it: a literal shown as is, or a message passed
# to t() as a template string (whose English would be shown in every language).
_JS_UNMARKED = re.compile(
    r"""(?:\b(?:text|label|caption|title)|"aria-label"): "[A-Za-z]|\bempty\("|\b(?:t|N_)\(\s*[`']"""
)


def test_every_string_of_the_script_goes_through_the_catalogues() -> None:
    script = (STATIC / "dashboard.js").read_text()
    unmarked = [line.strip() for line in script.splitlines() if _JS_UNMARKED.search(line)]
    assert unmarked == []


def test_every_text_of_the_template_goes_through_the_catalogues() -> None:
    template = (HERE / "templates" / "dashboard.html").read_text()
    for hidden in (r"<code>.*?</code>", r"<script.*?</script>", r"\{\{.*?\}\}", r"\{%.*?%\}"):
        template = re.sub(hidden, "", template, flags=re.DOTALL)
    text = re.sub(r"<[^>]*>", " ", template)
    # The one text left as is: the path of the API's documentation.
    assert re.findall(r"\S*[A-Za-z]{2,}\S*", text) == ["/docs"]


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_message_of_the_page_is_translated(language: str) -> None:
    catalogue = i18n.catalogue(language)
    missing = sorted(m for m in messages_of_the_page() if not catalogue.get(m))
    assert missing == [], f"{language}.po lacks {len(missing)} translations: {missing}"
    for message in messages_of_the_page():
        assert set(_PLACEHOLDER.findall(catalogue[message])) == set(
            _PLACEHOLDER.findall(message)
        ), (language, message)


@pytest.mark.parametrize(
    ("accept_language", "lang", "heading"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr", "Attend ma décision"),
        ("es-ES,es;q=0.9", "es", "Pendiente de mi decisión"),
        ("de-DE, en;q=0.5", "en", "Needs my decision"),
        ("", "en", "Needs my decision"),
    ],
)
async def test_the_page_speaks_the_browsers_language(
    client: httpx.AsyncClient, accept_language: str, lang: str, heading: str
) -> None:
    page = await client.get("/dashboard", headers={"Accept-Language": accept_language})
    assert f'<html lang="{lang}">' in page.text
    assert page.headers["content-language"] == lang
    assert heading in page.text


async def test_the_language_switch_overrides_the_browser(client: httpx.AsyncClient) -> None:
    page = await client.get("/dashboard?lang=es", headers={"Accept-Language": "fr"})
    assert '<html lang="es">' in page.text
    assert '<a href="?lang=fr" lang="fr" hreflang="fr">Français</a>' in page.text
    unknown = await client.get("/dashboard?lang=xx", headers={"Accept-Language": "fr"})
    assert '<html lang="fr">' in unknown.text
