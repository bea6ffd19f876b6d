"""The ``name=value; name=value`` field syntax of MTA-STS (RFC 8461 §3.1) and TLS-RPT
(RFC 8460 §3) TXT records. Pure.
"""

from __future__ import annotations

from mailcheck.errors import ParseError


def split_fields(text: str) -> list[tuple[str, str, int]]:
    """``name=value`` fields split on ``*WSP ";" *WSP``, with the positions of the values.

    One trailing delimiter is allowed (``[field-delim]`` in both grammars).

    Raises:
        ParseError: an empty field or one that is not ``name=value``.
    """
    fields: list[tuple[str, str, int]] = []
    position = 0
    parts = text.split(";")
    for index, part in enumerate(parts):
        start = position
        position += len(part) + 1
        stripped = part.strip(" \t")
        if not stripped:
            # RFC 8461 §3.1: only one trailing delimiter is allowed ([sts-field-delim]).
            if index == len(parts) - 1 and index > 0:
                continue
            raise ParseError(text, start, "empty field")
        name, equals, value = stripped.partition("=")
        if not equals or not name or not value:
            raise ParseError(text, start, f"bad field {stripped[:40]!r}: expected name=value")
        fields.append((name, value, start + len(part) - len(part.lstrip(" \t")) + len(name) + 1))
    return fields
