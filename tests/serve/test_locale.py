"""The gettext catalogues: every finding code in French, the page strings translated,
Accept-Language and LANG read safely."""

from __future__ import annotations

from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.codes import REGISTRY
from mailcheck.locale import (
    LANGUAGES,
    catalogue_path,
    finding_text,
    language_from_env,
    negotiate,
    translations,
)


def french() -> dict[tuple[str | None, str], str]:
    with catalogue_path("fr").open("rb") as po:
        catalog = read_po(po, locale="fr")
    return {(m.context, str(m.id)): str(m.string) for m in catalog if m.id}


def test_every_registered_code_has_a_french_title_why_and_fix() -> None:
    """Fails when a code is registered without its French text: add its entry to
    docs/findings.fr.md, then run ``python -m mailcheck.locale.update``."""
    by_context = {context: text for (context, _), text in french().items() if context}
    missing = [code for code in REGISTRY if not by_context.get(f"finding:{code}")]
    assert missing == [], "codes without a French title (python -m mailcheck.locale.update)"
    no_fix = [code for code in REGISTRY if f"finding:{code}:fix" not in by_context]
    assert no_fix == []
    untranslated = [c for c, text in by_context.items() if c.startswith("finding:") and not text]
    assert untranslated == []


def test_every_page_and_cli_string_is_translated() -> None:
    assert [msgid for (context, msgid), text in french().items() if not context and not text] == []


def test_french_finding_text_is_french() -> None:
    text = finding_text("spf.missing", "fr")
    assert text.title == "Aucun enregistrement SPF"
    assert text.why.startswith("Les serveurs de réception")
    assert "v=spf1 mx ~all" in text.fix
    assert finding_text("spf.missing", "en").title == REGISTRY["spf.missing"].title


def test_an_unknown_code_or_language_falls_back_to_english() -> None:
    assert finding_text("no.such-code", "fr").title == "no.such-code"
    assert finding_text("spf.missing", "de").title == REGISTRY["spf.missing"].title
    assert translations("de").gettext("Copy") == "Copy"


def test_placeholders_survive_translation() -> None:
    for (_context, msgid), text in french().items():
        if "%(" in msgid and text:
            assert sorted(_names(msgid)) == sorted(_names(text)), msgid


def _names(text: str) -> list[str]:
    import re

    return re.findall(r"%\((\w+)\)s", text)


def test_negotiate_accept_language() -> None:
    assert negotiate("fr-BE,fr;q=0.9,en;q=0.8") == "fr"
    assert negotiate("de-DE, en;q=0.5, fr;q=0.4") == "en"
    assert negotiate("de, fr;q=0.1") == "fr"
    assert negotiate("en;q=0.2, fr;q=0.9") == "fr"
    assert negotiate("fr;q=0") == "en"
    assert negotiate("*", default="fr") == "fr"
    assert negotiate(None, default="fr") == "fr"
    assert negotiate("fr;q=abc, en") == "en"
    assert negotiate("fr" + ", de" * 500) == "en"  # too long: ignored


@given(st.text(max_size=600))
def test_negotiate_never_fails(header: str) -> None:
    assert negotiate(header) in LANGUAGES


def test_language_from_env_follows_gettext_order() -> None:
    assert language_from_env({"LANG": "fr_BE.UTF-8"}) == "fr"
    assert language_from_env({"LANG": "fr_FR.UTF-8", "LC_ALL": "C"}) == "en"
    assert language_from_env({"LANGUAGE": "de:fr", "LANG": "C"}) == "fr"
    assert language_from_env({}) == "en"
    assert language_from_env({"LC_MESSAGES": "fr_CA"}) == "fr"
