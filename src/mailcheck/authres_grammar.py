"""The RFC 8601 grammar of an Authentication-Results value: the result types, and a
reader that walks one value in linear time with no recursion (comments nest through a
counter bounded by :data:`MAX_COMMENT_DEPTH`). :mod:`mailcheck.authresults` builds and
reads whole headers with them.
"""

from __future__ import annotations

import dataclasses
import re

from mailcheck.errors import ParseError

__all__ = ["MAX_COMMENT_DEPTH", "AuthResult", "AuthResultProperty", "AuthResultsHeader", "Reader"]

# RFC 5322 §3.2.2 lets comments nest; nothing needs more than a couple of levels.
MAX_COMMENT_DEPTH = 32
# Reading is lenient where receivers are (dots and underscores in keywords, any
# unquoted value up to a separator), and strict on structure.
_READ_KEYWORD = re.compile(r"[A-Za-z0-9_-]+")
_READ_PROPERTY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_READ_VALUE = re.compile(r'[^\s;()"\\]+')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*+)"', re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_SPACE = re.compile(r"\s*+")
_CTEXT = re.compile(r"[^()\\]*+")
_DIGITS = re.compile(r"\d+")
_REASON = re.compile(r"reason(?![A-Za-z0-9_.-])", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthResultProperty:
    """One ``ptype.property=value`` of a result (``header.d=example.org``)."""

    ptype: str
    name: str
    value: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthResult:
    """One ``method=result`` clause.

    Attributes:
        method: ``dkim``, ``spf``, ``dmarc``, ``arc``... (lower case).
        result: ``pass``, ``fail``, ``temperror``... (lower case).
        reason: the ``reason=`` text, if any.
        properties: the ``ptype.property=value`` items, in order.
        comment: the comment right after the result (``dkim=pass (2048-bit key)``).
    """

    method: str
    result: str
    reason: str | None = None
    properties: tuple[AuthResultProperty, ...] = ()
    comment: str | None = None

    def property(self, key: str, /) -> str | None:
        """The first value of ``ptype.name`` (``"header.d"``), or ``None``."""
        ptype, _, name = key.lower().partition(".")
        for prop in self.properties:
            if prop.ptype == ptype and prop.name == name:
                return prop.value
        return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthResultsHeader:
    """One Authentication-Results (or ARC-Authentication-Results) header.

    Attributes:
        authserv_id: who added it (``mx.google.com``), as written.
        results: the result clauses (empty for ``none``).
        arc_instance: the ``i=`` of an ARC-Authentication-Results header, else ``None``.
        error: why the header could not be parsed (then ``results`` is empty), else ``None``.
        raw: the header value as found.
    """

    authserv_id: str
    results: tuple[AuthResult, ...] = ()
    arc_instance: int | None = None
    error: str | None = None
    raw: str = ""

    def result(self, method: str, /) -> AuthResult | None:
        """The first result of ``method``, or ``None``."""
        return next((r for r in self.results if r.method == method.lower()), None)

    def to_text(self) -> str:
        """The header value (with the ``i=`` prefix for ARC).

        Raises:
            ParseError: a value holds a control character, or a keyword is not one.
        """
        # The builder lives with the header functions, which import this module.
        from mailcheck.authresults import build_authentication_results

        value = build_authentication_results(self.authserv_id, self.results)
        return value if self.arc_instance is None else f"i={self.arc_instance}; {value}"


class Reader:
    """A cursor over one unfolded header value; each method reads one RFC 8601 production."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text, self.pos = text, pos

    def payload(self) -> tuple[str, tuple[AuthResult, ...]]:
        # authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
        #                   ( no-result / 1*resinfo ) [CFWS] CRLF
        self.cfws()
        authserv_id = self.value("authserv-id")
        self.cfws()
        if self.take(_DIGITS) is not None:  # authres-version; only 1 exists
            self.cfws()
        self.expect(";")
        self.cfws()
        results: list[AuthResult] = []
        if self.at_keyword("none"):
            self.take(_READ_KEYWORD)
            self.cfws()
            self.end()
            return authserv_id, ()
        while True:
            results.append(self.resinfo())
            if self.pos >= len(self.text):
                return authserv_id, tuple(results)
            self.expect(";")
            self.cfws()
            if self.pos >= len(self.text):  # a trailing ";" is common: tolerated
                return authserv_id, tuple(results)

    def resinfo(self) -> AuthResult:
        # resinfo = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
        method = self.keyword("method")
        self.cfws()
        if self.text.startswith("/", self.pos):  # method-version: read, not kept
            self.pos += 1
            self.cfws()
            if self.take(_DIGITS) is None:
                raise self.error("expected a method version")
            self.cfws()
        self.expect("=")
        self.cfws()
        result = self.keyword("result")
        comments = self.cfws()
        reason = None
        if _REASON.match(self.text, self.pos):
            mark = self.pos
            self.pos += len("reason")
            self.cfws()
            if self.text.startswith("=", self.pos):
                self.pos += 1
                self.cfws()
                reason = self.value("reason")
                self.cfws()
            else:
                self.pos = mark
        properties = []
        while self.pos < len(self.text) and self.text[self.pos] != ";":
            prop = self.propspec()
            if prop is not None:
                properties.append(prop)
        return AuthResult(
            method=method,
            result=result,
            reason=reason,
            properties=tuple(properties),
            comment=comments[0] if comments else None,
        )

    def propspec(self) -> AuthResultProperty | None:
        # propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
        ptype = self.keyword("ptype")
        self.cfws()
        dotted = self.text.startswith(".", self.pos)
        name = ""
        if dotted:
            self.pos += 1
            self.cfws()
            name = self.keyword("property", _READ_PROPERTY)
            self.cfws()
        self.expect("=")
        self.cfws()
        value = self.value("property value", address=True)
        self.cfws()
        # Some receivers write "action=none" (no ptype): read past it, keep nothing.
        return AuthResultProperty(ptype=ptype, name=name, value=value) if dotted else None

    def value(self, what: str, *, address: bool = False) -> str:
        quoted = _QUOTED.match(self.text, self.pos)
        if quoted is not None:
            self.pos = quoted.end()
            if address and self.text.startswith("@", self.pos):
                domain = self.take(_READ_VALUE) or ""
                return quoted.group() + domain  # "local part"@domain, as written
            return _QUOTED_PAIR.sub(r"\1", quoted.group(1))
        if self.text.startswith('"', self.pos):
            raise self.error("unterminated quoted-string")
        plain = self.take(_READ_VALUE)
        if plain is None:
            raise self.error(f"expected {what}")
        return plain

    def keyword(self, what: str, pattern: re.Pattern[str] = _READ_KEYWORD) -> str:
        word = self.take(pattern)
        if word is None:
            raise self.error(f"expected {what}")
        return word.lower()

    def at_keyword(self, word: str) -> bool:
        match = _READ_KEYWORD.match(self.text, self.pos)
        if match is None or match.group().lower() != word:
            return False
        rest = _SPACE.match(self.text, match.end())
        return rest is None or not self.text.startswith("=", rest.end())

    def cfws(self) -> list[str]:
        """Skip white space and comments; the comments' text, unescaped, in order."""
        comments: list[str] = []
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if not self.text.startswith("(", self.pos):
                return comments
            comments.append(self.comment())

    def comment(self) -> str:
        # Iterative, with a depth bound: nesting never costs stack, however deep it is.
        start, depth, index, text = self.pos + 1, 0, self.pos, self.text
        while True:
            index = _CTEXT.match(text, index).end()  # type: ignore[union-attr]
            if index >= len(text):
                self.pos = index
                raise self.error("unterminated comment")
            char = text[index]
            index += 2 if char == "\\" else 1
            if char == "(":
                depth += 1
                if depth > MAX_COMMENT_DEPTH:
                    self.pos = index
                    raise self.error(f"comments nested deeper than {MAX_COMMENT_DEPTH}")
            elif char == ")":
                depth -= 1
                if depth == 0:
                    self.pos = index
                    return _QUOTED_PAIR.sub(r"\1", text[start : index - 1])

    def take(self, pattern: re.Pattern[str]) -> str | None:
        match = pattern.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def expect(self, char: str) -> None:
        if not self.text.startswith(char, self.pos):
            raise self.error(f"expected {char!r}")
        self.pos += 1

    def end(self) -> None:
        if self.pos < len(self.text):
            raise self.error("expected the end of the header")

    def error(self, reason: str) -> ParseError:
        return ParseError(self.text, min(self.pos, len(self.text)), reason)
