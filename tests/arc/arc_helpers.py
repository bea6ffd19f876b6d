"""What the ARC tests share: the list's sealers, a post, and sealing as a list does it."""

from __future__ import annotations

from mailcheck.dkim.arc_seal import ArcSealer
from mailcheck.dkim.sign import DkimSigner
from mailcheck.lookup import Resolver
from mailcheck.verify import verify_message
from tests.dkim.dkimsign_helpers import ED_KEY, RSA_KEY

LIST = "lists.liststest"
RSA_SEALER = ArcSealer(LIST, "rsa", RSA_KEY, authserv_id=LIST)
ED_SEALER = ArcSealer(LIST, "ed", ED_KEY, authserv_id=LIST)
POST = (
    b"From: Alice <alice@dkimsign.test>\r\n"
    b"To: Friends <friends@lists.liststest>\r\n"
    b"Subject: Picnic\r\n"
    b"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n"
    b"Message-ID: <picnic-1@dkimsign.test>\r\n"
    b"\r\n"
    b"Bring bread.\r\n"
)
SIGNED_POST = DkimSigner("dkimsign.test", "rsa", RSA_KEY).sign(POST)


async def seal_as_list(message: bytes, resolver: Resolver, sealer: ArcSealer = RSA_SEALER) -> bytes:
    """What a list does: verify on receipt (its A-R, with arc=), then seal."""
    result = await verify_message(message, resolver=resolver, authserv_id=sealer.authserv_id)
    return sealer.seal(result.header.encode() + b"\r\n" + message)
