"""The ``tag=value; tag=value`` syntax shared by DKIM key records and DMARC records.

RFC 6376 §3.2 defines it ("tag-list"); RFC 7489 §6.4 and RFC 9989 reuse it for
DMARC. Pure: text in, tags with their positions out, or a ParseError.
"""

from __future__ import annotations

import re

from mailcheck.errors import ParseError

# RFC 6376 §3.2: tag-name = ALPHA *ALNUMPUNC ; ALNUMPUNC = ALPHA / DIGIT / "_"
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def parse_tag_list(
    text: str, /, *, fold_case: bool = False, printable_values: bool = False
) -> list[tuple[str, str, int]]:
    """Split a tag-list into (name, value, position of the value).

    Values lose their surrounding white space; empty tag-specs (a trailing ``;``) are
    allowed.

    Args:
        fold_case: lower-case tag names (DMARC); DKIM tag names are case-sensitive.
        printable_values: refuse values with characters outside ``%x21-7E`` once
            folding white space is removed (RFC 6376 §3.2 ``tval``).

    Raises:
        ParseError: a tag-spec that is not ``name=value``, or a duplicate name
            ("Tags with duplicate names MUST NOT occur", RFC 6376 §3.2).
    """
    tags: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    position = 0
    for part in text.split(";"):
        start = position
        position += len(part) + 1
        if not part.strip():
            continue
        name_text, equals, value = part.partition("=")
        name = name_text.strip().lower() if fold_case else name_text.strip()
        if not equals or not _TAG_NAME.fullmatch(name):
            offset = start + len(part) - len(part.lstrip())
            raise ParseError(text, offset, f"bad tag {name_text.strip()!r}: expected name=value")
        if name in seen:
            raise ParseError(text, start, f"tag {name}= appears twice")
        seen.add(name)
        value_pos = start + len(name_text) + 1
        stripped = value.strip()
        if printable_values and any(
            ord(ch) < 0x21 or ord(ch) > 0x7E for ch in "".join(stripped.split())
        ):
            raise ParseError(text, value_pos, f"tag {name}= holds a character it may not")
        tags.append((name, stripped, value_pos + len(value) - len(value.lstrip())))
    return tags
