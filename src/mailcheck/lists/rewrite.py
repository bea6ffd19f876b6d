"""Rewrite the From of a post, or wrap it: the two DMARC mitigations of mailing lists.

``rewrite_from`` does what Mailman (``dmarc_mitigate_action = munge_from``) and Sympa
(``dmarc_protection``) do: the From becomes the list address with the display name
"Name via List", and the author's address moves to Reply-To (merged with one already
there) or to ``X-Original-From``. Every other field stays byte for byte; the body is not
touched. ``wrap`` builds a new message from the list whose body is the post, unchanged,
as a ``message/rfc822`` part (Mailman's ``wrap_message``): the author's DKIM signature
still verifies inside it.

Either result must then be DKIM-signed by the list's domain, so that DMARC passes
aligned with the new From::

    signed = DkimSigner("lists.example.net", "2026", key).sign(
        rewrite_from(post, "friends@lists.example.net", list_name="Friends"))
"""

from __future__ import annotations

import email.headerregistry
import email.policy
import email.utils
import secrets

from mailcheck.authresults import drop_unsafe_characters
from mailcheck.lists.headers import (
    Author,
    Field,
    list_mailbox,
    read_author,
    split_post,
    the_from,
)
from mailcheck.lists.types import KeepOriginal, MitigationError

# Fields of the post copied to the outer message of ``wrap`` (threading, addressing, list).
WRAP_KEEP = (
    "to", "cc", "subject", "date", "in-reply-to", "references", "list-id", "list-help",
    "list-unsubscribe", "list-unsubscribe-post", "list-subscribe", "list-post",
    "list-owner", "list-archive", "precedence",
)  # fmt: skip


def rewrite_from(
    message: bytes,
    /,
    list_address: str,
    *,
    list_name: str | None = None,
    keep: KeepOriginal | str = KeepOriginal.REPLY_TO,
) -> bytes:
    """The post with its From rewritten to the list (see the module docstring).

    Args:
        message: the post as received (bare LF is accepted; the result uses CRLF).
        list_address: the list's posting address, ``local@domain``.
        list_name: the list's display name (default: the local part of ``list_address``).
        keep: ``reply-to`` (the author's address merged into Reply-To; several Reply-To
            fields become one) or ``x-original-from`` (the author's From value copied to
            ``X-Original-From``; any such field already present is dropped, since the
            list vouches for the one it writes).

    Raises:
        MitigationError: no From or several, a From without exactly one address or with
            an undecodable encoded word, a malformed header block, a bad list address.
    """
    mode = _keep(keep)
    address, _ = list_mailbox(list_address)
    fields, body = split_post(message)
    original = the_from(fields)
    author = read_author(original.value)
    new_from = munged_from(author, address, list_name)
    if mode is KeepOriginal.REPLY_TO:
        out = _with_reply_to(fields, original, new_from, author)
    else:
        dropped = [f for f in fields if f.name != "x-original-from"]
        extra = b"X-Original-From: " + original.value + b"\r\n"
        out = _replace_field(dropped, original, new_from + extra)
    return b"".join(out) + b"\r\n" + body


def wrap(
    message: bytes,
    /,
    list_address: str,
    *,
    list_name: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A new message from the list whose only part is the post as ``message/rfc822``.

    The outer message has From "Name via List" <list>, Reply-To the author (merged with
    the post's Reply-To), a new Message-ID at the list's domain, and the post's To, Cc,
    Subject, Date, threading and List-* fields (:data:`WRAP_KEEP`). The post is attached
    byte for byte (CRLF line endings), so its own DKIM signature still verifies there.

    Args:
        message: the post as received.
        list_address: the list's posting address.
        list_name: the list's display name (default: the local part of ``list_address``).
        message_id: the outer Message-ID (default: a new one at the list's domain).

    Raises:
        MitigationError: as :func:`rewrite_from`.
    """
    address, domain = list_mailbox(list_address)
    fields, body = split_post(message)
    original = the_from(fields)
    author = read_author(original.value)
    post = b"".join(f.raw for f in fields) + b"\r\n" + body
    head = [munged_from(author, address, list_name), _reply_to(fields, original, author)]
    head += [f.raw for f in fields if f.name in WRAP_KEEP]
    mid = message_id or email.utils.make_msgid(domain=domain)
    boundary = _boundary(post)
    head.append(b"Message-ID: " + mid.encode("ascii") + b"\r\n")
    head.append(b"MIME-Version: 1.0\r\n")
    head.append(b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n')
    # RFC 2046 §5.2.1: message/rfc822 takes 7bit, 8bit or binary only, never base64.
    cte = b"8bit" if any(byte > 0x7F for byte in post) else b"7bit"
    part = (
        b"--" + boundary + b"\r\nContent-Type: message/rfc822\r\n"
        b"Content-Disposition: inline\r\nContent-Transfer-Encoding: " + cte + b"\r\n\r\n"
    )
    tail = b"\r\n--" + boundary + b"--\r\n"
    return b"".join(head) + b"\r\n" + part + post + tail


def munged_from(author: Author, list_address: str, list_name: str | None) -> bytes:
    """``From: "Name via List" <list>`` folded, CRLF-terminated (RFC 2047 when not ASCII).

    A post without a display name shows the author's address as the name, as Mailman does.
    """
    shown_list = " ".join(drop_unsafe_characters(list_name or "").split())
    shown_list = shown_list or list_address.partition("@")[0]
    shown = f"{author.name or author.address} via {shown_list}"
    try:
        mailbox = email.headerregistry.Address(display_name=shown, addr_spec=list_address)
        # The header object folds and RFC 2047-encodes what is not ASCII (policy.fold alone
        # keeps a short non-ASCII value raw, which only an SMTPUTF8 path could carry).
        header = email.policy.SMTP.header_factory("From", str(mailbox))
        folded: str = header.fold(policy=email.policy.SMTP)
        return folded.encode("ascii")
    except (ValueError, UnicodeError, IndexError) as exc:
        raise MitigationError(f"cannot write the new From ({type(exc).__name__})") from None


def _keep(keep: KeepOriginal | str) -> KeepOriginal:
    try:
        return KeepOriginal(keep)
    except ValueError:
        raise MitigationError("keep must be 'reply-to' or 'x-original-from'") from None


def _with_reply_to(
    fields: list[Field], original: Field, new_from: bytes, author: Author
) -> list[bytes]:
    """The fields with the new From, and one Reply-To where the first was (else after From)."""
    reply_to = _reply_to(fields, original, author)
    has_reply_to = any(f.name == "reply-to" for f in fields)
    out: list[bytes] = []
    for field in fields:
        if field is original:
            out.append(new_from if has_reply_to else new_from + reply_to)
        elif field.name != "reply-to":
            out.append(field.raw)
        elif reply_to:
            out.append(reply_to)
            reply_to = b""  # several Reply-To fields become the first one
    return out


def _reply_to(fields: list[Field], original: Field, author: Author) -> bytes:
    """One Reply-To: the post's Reply-To values, then the author's From value if absent."""
    values = [f.value for f in fields if f.name == "reply-to"]
    present = {a.lower() for _, a in email.utils.getaddresses([_text(v) for v in values])}
    if author.address.lower() not in present:
        values.append(original.value)
    return b"Reply-To: " + b",\r\n ".join(values) + b"\r\n"


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace").replace("\r\n", "")


def _replace_field(fields: list[Field], old: Field, new: bytes) -> list[bytes]:
    return [new if field is old else field.raw for field in fields]


def _boundary(post: bytes) -> bytes:
    while True:
        boundary = b"=_mailcheck_" + secrets.token_hex(12).encode("ascii")
        if boundary not in post:
            return boundary
