"""Rebuild the ``.po`` catalogues from the sources (a maintainer's tool, run in a checkout).

``python -m mailcheck.locale.update`` does, in order:

1. extracts the page and CLI strings (``_()``, ``gettext``, ``{% trans %}``) of
   ``mailcheck.serve`` and ``mailcheck.cli.serve`` with Babel;
2. reads every finding's what / why / fix from ``docs/findings.md`` and its French from
   ``docs/findings.fr.md`` (the French reference is the source of the French catalogue);
3. writes ``locale/en/.../mailcheck.po`` (the English ids) and ``locale/fr/.../mailcheck.po``,
   keeping the French already written for page strings and finding titles.

Run it after adding a finding code (with its entries in both docs) or a page string; the
test ``tests/serve/test_locale.py`` fails while a registered code has no French.
"""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from mailcheck.locale import DOMAIN, catalogue_path

_PACKAGE = Path(__file__).parent.parent
# A fixed date in the headers: rebuilding an unchanged catalogue changes nothing.
_FIXED = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
_ENTRY = re.compile(r"^### `([^`]+)`\n(?:\*\*[^\n]*\n)?\n?(.*?)(?=^#{2,3} |^<!--|\Z)", re.M | re.S)
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_WHY = {"en": r"\*Why it matters:\*", "fr": r"\*Pourquoi c.est important\s?:\*"}
_FIX = {"en": r"\*Fix:\*", "fr": r"\*Correction\s?:\*"}
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)", re.S)


def doc_entries(path: Path, language: str) -> dict[str, tuple[str, str, str]]:
    """code -> (what, why, fix) from a findings reference page, as one-line plain text."""
    text = path.read_text(encoding="utf-8").replace("\u202f", "\u00a0")
    entries = {}
    for code, body in _ENTRY.findall(text):
        body = _LINK.sub(r"\1", " ".join(body.split()))
        parts = re.split(f"({_WHY[language]}|{_FIX[language]})", body.replace("\u00a0", " "))
        what, why, fix = parts[0].strip(), "", ""
        for marker, content in zip(parts[1::2], parts[2::2], strict=True):
            if re.fullmatch(_WHY[language], marker):
                why = content.strip()
            else:
                fix = content.strip()
        entries[code] = (what, _capital(why), _capital(fix))
    return entries


def _capital(text: str) -> str:
    """The docs write "*Fix:* publish ..."; on its own the text starts a sentence."""
    return text[:1].upper() + text[1:]


def first_sentence(text: str) -> str:
    """A title from a description (when none was written by hand): its first sentence,
    up to its first clause (`` ; ``), without a parenthesis after 40 characters or an
    explanation after a colon when long, without the final full stop."""
    match = _SENTENCE.match(text)
    title = (match.group(1) if match else text).strip()
    title = re.split(r" ; |, `details", title, maxsplit=1)[0]
    head = title.split(" (", 1)[0]
    title = head if len(head) >= 40 else title  # a short head would lose the meaning
    if len(title) > 70:
        title = title.split(" : ", 1)[0]
    return title.rstrip(" .:")


def _page_strings(root: Path) -> Iterator[tuple[str, int, str, list[str]]]:
    method_map = [("serve/**.py", "python"), ("cli/serve.py", "python"),
                  ("serve/templates/**.html", "jinja2")]  # fmt: skip
    options = {"serve/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, lineno, message, comments, _context in extract_from_dir(
        root, method_map, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        if isinstance(message, str):
            yield filename, lineno, message, comments


def build(docs: Path, package: Path = _PACKAGE) -> dict[str, Catalog]:
    """The English and French catalogues, from the sources and the current French."""
    from mailcheck.codes import REGISTRY

    english_docs = doc_entries(docs / "findings.md", "en")
    french_docs = doc_entries(docs / "findings.fr.md", "fr")
    current = Catalog(locale="fr", domain=DOMAIN)
    if catalogue_path("fr").is_file():
        with catalogue_path("fr").open("rb") as po:
            current = read_po(po, locale="fr", domain=DOMAIN)
    en, fr = (
        Catalog(
            locale=language, domain=DOMAIN, project="mailcheck", version="",
            copyright_holder="mailcheck developers", msgid_bugs_address="",
            creation_date=_FIXED, revision_date=_FIXED, fuzzy=False,
            header_comment=f"# {language}: mailcheck's catalogue, built by mailcheck.locale.update",
        )
        for language in ("en", "fr")
    )  # fmt: skip
    for filename, lineno, message, comments in _page_strings(package):
        en.add(message, locations=[(filename, lineno)], auto_comments=comments)
        old = current.get(message)
        fr.add(message, old.string if old else "", locations=[(filename, lineno)],
               auto_comments=comments)  # fmt: skip
    for code, entry in REGISTRY.items():
        _, why_en, fix_en = english_docs.get(code, ("", "", ""))
        what_fr, why_fr, fix_fr = french_docs.get(code, ("", "", ""))
        old_title = current.get(entry.title, context=f"finding:{code}")
        title_fr = old_title.string if old_title and old_title.string else ""
        title_fr = title_fr or (first_sentence(what_fr) if what_fr else "")
        for context, english, french in (
            (f"finding:{code}", entry.title, title_fr),
            (f"finding:{code}:why", why_en, why_fr),
            (f"finding:{code}:fix", fix_en, fix_fr),
        ):
            if english:
                en.add(english, context=context)
                fr.add(english, french, context=context)
    return {"en": en, "fr": fr}


def write(catalogues: Mapping[str, Catalog]) -> None:
    """Write each catalogue to its ``.po`` (sorted, no line wrapping: stable diffs)."""
    for language, catalog in catalogues.items():
        with catalogue_path(language).open("wb") as po:
            # No "#: file:line" comments: they would change with every edit of the code.
            write_po(po, catalog, width=0, sort_output=True, omit_header=False, no_location=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m mailcheck.locale.update [DOCS_DIR]``."""
    args = sys.argv[1:] if argv is None else argv
    docs = Path(args[0]) if args else _PACKAGE.parent.parent / "docs"
    write(build(docs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
