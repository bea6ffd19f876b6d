"""SPF macro-strings (RFC 7208 §7): parsed and validated, never expanded here."""

from __future__ import annotations

import dataclasses
import re

from mailcheck.errors import ParseError

# RFC 7208 §7.1: macro-letter; "c", "r" and "t" are only allowed in "exp" text (§7.2).
MACRO_LETTERS = frozenset("slodiphcrtv")
EXP_ONLY_LETTERS = frozenset("crt")
# RFC 7208 §7.1: delimiter = "." / "-" / "+" / "," / "/" / "_" / "="
MACRO_DELIMITERS = frozenset(".-+,/_=")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Macro:
    """One macro-expand of a macro-string (RFC 7208 §7.1).

    Attributes:
        letter: the macro letter, lower case (``"d"``), or ``"%"``, ``"_"``, ``"-"`` for the
            escapes ``%%``, ``%_``, ``%-``.
        digits: how many right-hand parts to keep, or ``None``.
        reverse: the ``r`` transformer.
        delimiters: the delimiters given (``"."`` by default).
        url_escape: the letter was upper case (its expansion is URL-escaped).
    """

    letter: str
    digits: int | None = None
    reverse: bool = False
    delimiters: str = ""
    url_escape: bool = False


def parse_macro_string(value: str, /, *, exp: bool = False) -> tuple[Macro, ...]:
    """The macros of a macro-string (RFC 7208 §7.1).

    Args:
        value: the macro-string.
        exp: the string is explanation text, where ``c``, ``r`` and ``t`` are allowed.

    Raises:
        ParseError: a bad macro.
    """
    return check_macro_string(value, value, 0, exp=exp)


def check_macro_string(text: str, value: str, pos: int, *, exp: bool) -> tuple[Macro, ...]:
    """The macros of ``value``, which sits at offset ``pos`` of ``text`` (for error positions).

    Raises:
        ParseError: a bad macro or character, with its offset in ``text``.
    """
    macros: list[Macro] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch != "%":
            if not "!" <= ch <= "~" and not (exp and ch == " "):
                raise ParseError(text, pos + i, "character not allowed in a macro-string")
            i += 1
            continue
        nxt = value[i + 1 : i + 2]
        if nxt in ("%", "_", "-"):
            macros.append(Macro(letter=nxt))
            i += 2
            continue
        end = value.find("}", i)
        if nxt != "{" or end < 0:
            raise ParseError(text, pos + i, "'%' must start a macro or be written '%%'")
        macros.append(_parse_macro(text, value[i + 2 : end], pos + i, exp=exp))
        i = end + 1
    return tuple(macros)


def _parse_macro(text: str, body: str, pos: int, *, exp: bool) -> Macro:
    found = re.match(r"([A-Za-z])(\d*)([rR]?)(.*)\Z", body)
    if found is None or found.group(1).lower() not in MACRO_LETTERS:
        raise ParseError(text, pos, "unknown macro letter")
    letter, digits, reverse, delimiters = found.groups()
    if letter.lower() in EXP_ONLY_LETTERS and not exp:
        raise ParseError(text, pos, f"macro letter '{letter}' is only allowed in exp text")
    if digits and (int(digits) == 0 or digits.startswith("0")):
        # RFC 7208 §7.3: the number of right-hand parts must be nonzero.
        raise ParseError(text, pos, "macro transformer digits must be nonzero")
    if any(ch not in MACRO_DELIMITERS for ch in delimiters):
        raise ParseError(text, pos, "bad macro delimiter")
    return Macro(
        letter=letter.lower(),
        digits=int(digits) if digits else None,
        reverse=bool(reverse),
        delimiters=delimiters,
        url_escape=letter.isupper(),
    )
