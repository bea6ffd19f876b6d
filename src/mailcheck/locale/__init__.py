"""French and English text: gettext catalogues for finding titles, why and fix, pages, CLI.

The catalogues are Babel ``.po`` files kept in the repository
(``locale/<lang>/LC_MESSAGES/mailcheck.po``). They are compiled in memory the first time a
language is used (Babel's ``read_po`` + ``write_mo``, about a millisecond): nothing
compiled is committed or installed, and an editable install, a wheel and a source tree
all read the same ``.po``. Without Babel installed, every language falls back to English.

A finding's text lives under a message context named after its code:
``finding:<code>`` (the title), ``finding:<code>:why`` and ``finding:<code>:fix``. The
French comes from ``docs/findings.fr.md`` (see :mod:`mailcheck.locale.update`).

Example:
    >>> finding_text("spf.missing", "fr").title  # doctest: +SKIP
    "Aucun enregistrement SPF"
"""

from __future__ import annotations

import dataclasses
import functools
import gettext
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "FindingText",
    "catalogue_path",
    "finding_text",
    "language_from_env",
    "negotiate",
    "translations",
]

#: The languages mailcheck speaks; the first is the default.
LANGUAGES: tuple[str, ...] = ("en", "fr")
DEFAULT_LANGUAGE = "en"
DOMAIN = "mailcheck"
#: Longest Accept-Language header read (a client cannot make us parse megabytes).
MAX_ACCEPT_LANGUAGE = 512
_HERE = Path(__file__).parent
# RFC 9110 §12.5.4: language-range [ weight ]; weight = OWS ";" OWS "q=" qvalue.
_RANGE = re.compile(
    r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FindingText:
    """A finding code's text in one language.

    Attributes:
        code: the finding code.
        language: the language of the text.
        title: one line saying what was found.
        why: why it matters ("" when the reference gives none).
        fix: how to fix it, in general ("" when there is nothing to do).
    """

    code: str
    language: str
    title: str
    why: str
    fix: str


def catalogue_path(language: str) -> Path:
    """The ``.po`` file of ``language`` (one of :data:`LANGUAGES`)."""
    return _HERE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language``; English text for an unknown language.

    Compiled once per process from the ``.po`` (see the module docstring).
    """
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:  # pragma: no cover - babel comes with the serve extra
        return gettext.NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def finding_text(code: str, language: str, /) -> FindingText:
    """The title, why and fix of ``code`` in ``language`` (English when not translated).

    A code missing from the catalogues gets its registry title and empty why/fix.
    """
    from mailcheck.codes import REGISTRY

    chosen = translations(language)
    fallback = REGISTRY[code].title if code in REGISTRY else code
    return FindingText(
        code=code,
        language=language if language in LANGUAGES else DEFAULT_LANGUAGE,
        title=_lookup(chosen, f"finding:{code}", fallback),
        why=_lookup(chosen, f"finding:{code}:why", ""),
        fix=_lookup(chosen, f"finding:{code}:fix", ""),
    )


def _lookup(catalogue: gettext.NullTranslations, context: str, default: str) -> str:
    """The text under ``context``: its msgid is the English text, found in the English
    catalogue's index (:func:`_english`)."""
    msgid = _english().get(context)
    if msgid is None:
        return default
    return catalogue.pgettext(context, msgid)


@functools.cache
def _english() -> Mapping[str, str]:
    """Message context -> English msgid, for the ``finding:`` contexts."""
    try:
        from babel.messages.pofile import read_po
    except ImportError:  # pragma: no cover
        return {}
    with catalogue_path(DEFAULT_LANGUAGE).open("rb") as po:
        catalog = read_po(po, locale=DEFAULT_LANGUAGE, domain=DOMAIN)
    return {
        str(message.context): str(message.id)
        for message in catalog
        if message.context and str(message.context).startswith("finding:")
    }


def negotiate(header: str | None, /, *, default: str = DEFAULT_LANGUAGE) -> str:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header (RFC 9110 §12.5.4).

    Untrusted input: a header over :data:`MAX_ACCEPT_LANGUAGE` characters, a malformed
    range or weight is ignored (never an error); ties keep the client's order.
    """
    if not header or len(header) > MAX_ACCEPT_LANGUAGE:
        return default
    best: tuple[float, int, str] | None = None
    for index, part in enumerate(header.split(",")):
        match = _RANGE.fullmatch(part)
        if match is None:
            continue
        try:
            weight = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        if not 0.0 < weight <= 1.0:
            continue
        primary = match.group(1).split("-", 1)[0].lower()
        language = default if primary == "*" else primary
        if language not in LANGUAGES:
            continue
        candidate = (-weight, index, language)
        if best is None or candidate < best:
            best = candidate
    return default if best is None else best[2]


def language_from_env(environ: Mapping[str, str] | None = None, /) -> str:
    """The CLI's language from ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` or ``LANG``
    (the gettext order): ``fr_BE.UTF-8`` gives ``fr``; English otherwise."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if not value:
            continue
        for item in value.split(":"):
            primary = re.split(r"[_.@-]", item, maxsplit=1)[0].lower()
            if primary in LANGUAGES:
                return primary
        if name != "LANGUAGE":
            return DEFAULT_LANGUAGE  # the first variable set decides (C, POSIX: English)
    return DEFAULT_LANGUAGE
