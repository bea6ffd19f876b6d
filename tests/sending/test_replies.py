# ruff: noqa: E501  (the table holds real reply strings, one per line)
"""Reply parsing, normalisation and classification, on the real strings of the research."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ParseError
from mailcheck.sending.providers import Action, ProviderSet, Scope
from mailcheck.sending.replies import (
    Category,
    SmtpReply,
    classify_reply,
    make_classifier,
    normalize_reply,
    parse_reply,
)

PROVIDERS = ProviderSet.load()

C, S, A = Category, Scope, Action
# (provider, reply, category, scope, action): every reply string of research/sending.md §B2.
TABLE = [
    ("google", "421 4.7.28 Gmail has detected an unusual rate of unsolicited email originating from your IP address 203.0.113.5. To protect our users, mail sent from your IP address has been temporarily rate limited.", C.RATE_LIMIT, S.IP, A.SLOW),
    ("google", "421 4.7.28 Gmail has detected an unusual rate of unsolicited email originating from your DKIM domain example.org. Mail from it has been temporarily rate limited.", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("google", "421 4.7.28 This message exceeded the quota for sending messages that have the same Message-ID", C.TEMPORARY, S.MESSAGE, A.RETRY),
    ("google", "550 5.7.28 Gmail has detected an unusual rate of unsolicited email originating from your IP address. Your email has been blocked.", C.BLOCKED, S.IP, A.SUSPEND),
    ("google", "421 4.7.0 This message is suspicious due to the very low reputation of the sending IP address. Mail has been temporarily rate limited.", C.RATE_LIMIT, S.IP, A.SLOW),
    ("google", "550 5.7.1 Our system has detected that this message is likely unsolicited mail.", C.CONTENT, S.MESSAGE, A.BOUNCE),
    ("google", "550 5.7.26 This mail has been blocked because the sender is unauthenticated.", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("google", "421 4.7.26 This mail is unauthenticated, which poses a security risk.", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("google", "451 4.7.23 The sender's SPF record failed", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("google", "450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a later point.", C.RECIPIENT, S.RECIPIENT, A.RETRY),
    ("google", "421 4.4.5 Server busy, try again later.", C.SERVER, S.CONNECTION, A.RETRY),
    ("google", "421 4.3.0 Temporary System Problem. Try again later.", C.SERVER, S.CONNECTION, A.RETRY),
    ("microsoft", "421 RP-001 (BAY004-MC1F35) Unfortunately, some messages from 203.0.113.5 weren't sent. Please try again.", C.RATE_LIMIT, S.IP, A.SLOW),
    ("microsoft", "451 4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) [Name=Protocol Filter Agent]", C.RATE_LIMIT, S.IP, A.SLOW),
    ("microsoft", "451 4.7.500 Server busy. Please try again later from [203.0.113.5]. (AS761)", C.RATE_LIMIT, S.IP, A.SLOW),
    ("microsoft", "451 4.7.652 The mail server [203.0.113.5] has exceeded the maximum number of connections.", C.CONNECTIONS, S.CONNECTION, A.SLOW),
    ("microsoft", "550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140).", C.BLOCKED, S.IP, A.SUSPEND),
    ("microsoft", "550 5.7.515 Access denied, sending domain example.org does not meet the required authentication level.", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("microsoft", "550 SC-001 (BAY004-MC3F8) Unfortunately, messages from 203.0.113.5 weren't sent.", C.BLOCKED, S.IP, A.SUSPEND),
    ("microsoft365", "550 5.7.606 Access denied, banned sending IP [203.0.113.5].", C.BLOCKED, S.IP, A.SUSPEND),
    ("microsoft365", "451 4.7.500 Access denied, please try again later.", C.RATE_LIMIT, S.IP, A.SLOW),
    ("yahoo", "421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", C.RATE_LIMIT, S.IP, A.SLOW),
    ("yahoo", "421 4.7.0 [TSS05] Messages from 203.0.113.5 temporarily deferred", C.RATE_LIMIT, S.IP, A.SLOW),
    ("yahoo", "421 4.7.0 [TS01] Messages from 203.0.113.5 temporarily deferred due to user complaints", C.RATE_LIMIT, S.IP, A.SLOW),
    ("yahoo", "553 5.7.2 [TSS09] All messages from 203.0.113.5 will be permanently deferred; Retrying will NOT succeed.", C.BLOCKED, S.IP, A.SUSPEND),
    ("yahoo", "553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.5, because the ip is in Spamhaus's list", C.BLOCKED, S.IP, A.SUSPEND),
    ("yahoo", "421 Max message per connection reached, closing transmission channel", C.CONNECTIONS, S.CONNECTION, A.SLOW),
    ("yahoo", "451 Message temporarily deferred due to unresolvable RFC.5321 from domain", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("yahoo", "554 5.7.9 Message not accepted for policy reasons.", C.POLICY, S.MESSAGE, A.BOUNCE),
    ("yahoo", "554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1234.mail.bf1.yahoo.com", C.RECIPIENT, S.RECIPIENT, A.BOUNCE),
    ("apple", "421 4.7.1 Messages to someone@icloud.com deferred due to excessive volume. Try again later", C.RATE_LIMIT, S.IP, A.SLOW),
    ("apple", "421 [HCM1] Your mail from 203.0.113.5 was deferred", C.RATE_LIMIT, S.IP, A.SLOW),
    ("apple", "451 [BS02] Temporary server error. Please try again later", C.RATE_LIMIT, S.IP, A.SLOW),
    ("apple", "550 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.5", C.BLOCKED, S.IP, A.SUSPEND),
    ("apple", "554 5.7.1 [HME1] Message rejected: failing both SPF and DKIM", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("apple", "550 5.7.1 [CS01] Message rejected due to local policy", C.POLICY, S.MESSAGE, A.BOUNCE),
    ("orange", "421 mwinf5c40 ME Trop de connexions, veuillez verifier votre configuration. Too many connections, slow down. OFR004_104 [104]", C.CONNECTIONS, S.CONNECTION, A.SLOW),
    ("orange", "421 mwinf5c40 ME Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR_999 [999]", C.BLOCKED, S.IP, A.SLOW),
    ("orange", "421 mwinf5c40 ME Service refuse. OFR_108 [108]", C.BLOCKED, S.IP, A.SLOW),
    ("orange", "550 mwinf5c40 ME Adresse IP source bloquee pour incident de spam. Client host blocked for spamming issues. OFR006_102 Ref http://csi.cloudmark.com/reset-request/?ip=203.0.113.5 [102]", C.BLOCKED, S.IP, A.SUSPEND),
    ("orange", "501 5.1.0 Emetteur invalide. Invalid Sender. OFR004_405 [405]", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("orange", "501 5.0.2 Mail rejected. DMARC check failed.", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("orange", "550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]", C.RECIPIENT, S.RECIPIENT, A.BOUNCE),
    ("orange", "552 5.1.1 Boite du destinataire pleine. Recipient mailbox full. OFR_417 [417]", C.MAILBOX_FULL, S.RECIPIENT, A.RETRY),
    ("laposte", "421 smtp.laposte.net Too many connections LPN105_104", C.CONNECTIONS, S.CONNECTION, A.SLOW),
    ("laposte", "450 4.7.1 Client host rejected: Service refuse LPN027_503", C.BLOCKED, S.IP, A.SUSPEND),
    ("laposte", "550 5.7.1 DMARC failed LPN007_517", C.AUTH, S.DOMAIN, A.SUSPEND_TENANT),
    ("laposte", "550 5.1.1 Invalid recipient LPN007_416", C.RECIPIENT, S.RECIPIENT, A.BOUNCE),
    ("free", "421 Too many spams from your IP (203.0.113.5), please visit http://postmaster.free.fr/", C.BLOCKED, S.IP, A.SLOW),
    ("free", "550 spam detected", C.CONTENT, S.MESSAGE, A.BOUNCE),
    ("free", "421 mx1.free.fr Too many connections", C.CONNECTIONS, S.CONNECTION, A.SLOW),
    ("sfr", "450 4.7.1 <203.0.113.5>: Client host rejected: SFR_IN_105", C.BLOCKED, S.IP, A.SLOW),
    ("sfr", "554 5.7.1 <mail.example.org[203.0.113.5]>: Client host rejected: Abus detecte GU_EIB_04", C.BLOCKED, S.IP, A.SLOW),
    ("sfr", "421 4.7.0 mx.sfr.fr Error: too many errors", C.PROTOCOL, S.IP, A.SUSPEND),
    ("gmx", "554-gmx.net (mxgmx117) Nemesis ESMTP Service not available\n554-No SMTP service\n554-IP address is block listed.\n554 For explanation visit https://postmaster.gmx.net/en/case?c=r0201&i=ip&v=203.0.113.5&r=0MRKQ1-1abcDE2fgh", C.BLOCKED, S.IP, A.SUSPEND),
    ("gmx", "421 Rate limit reached. Please try again later", C.RATE_LIMIT, S.IP, A.SLOW),
    ("gmx", "421 Reject due to policy violations", C.POLICY, S.IP, A.SUSPEND),
    ("gmx", "421 Too many connections", C.CONNECTIONS, S.CONNECTION, A.SLOW),
    (None, "450 4.7.1 Greylisted, please try again later", C.TEMPORARY, S.MESSAGE, A.RETRY),
    (None, "552 5.2.2 Mailbox full", C.MAILBOX_FULL, S.RECIPIENT, A.BOUNCE),
    (None, "452 4.2.2 The email account that you tried to reach is over quota.", C.MAILBOX_FULL, S.RECIPIENT, A.RETRY),
    (None, "550 5.1.1 The email account that you tried to reach does not exist.", C.RECIPIENT, S.RECIPIENT, A.BOUNCE),
    (None, "250 2.0.0 OK queued as 1234ABC", C.OK, S.MESSAGE, A.OK),
]  # fmt: skip


@pytest.mark.parametrize(("provider", "text", "category", "scope", "action"), TABLE)
def test_research_reply_table(
    provider: str | None, text: str, category: Category, scope: Scope, action: Action
) -> None:
    result = classify_reply(parse_reply(text), PROVIDERS.get(provider) if provider else None)
    assert (result.category, result.scope, result.action) == (category, scope, action), result.rule


def test_recipient_signals_never_shape() -> None:
    for text in (
        "450 4.2.1 The user you are trying to contact is receiving mail too quickly.",
        "552 5.2.2 Mailbox full",
    ):
        for provider in (None, *PROVIDERS.providers.values()):
            result = classify_reply(parse_reply(text), provider)
            assert result.scope is Scope.RECIPIENT
            assert not result.shapes


def test_multiline_enhanced_only_after_code() -> None:
    reply = parse_reply(["421-4.7.28 first", "421-4.7.28 second", "421 4.7.28 third"])
    assert reply.code == 421
    assert reply.enhanced == "4.7.28"
    assert reply.lines == ("first", "second", "third")
    assert parse_reply("550 see RFC 5.7.1 later").enhanced is None
    assert parse_reply("421 5.7.1 class mismatch").enhanced is None
    assert parse_reply("250 ok\nno code on this line").lines == ("ok", "no code on this line")


def test_parse_errors() -> None:
    for bad in ("", "hello", "99 x", "421-a\n450 b"):
        with pytest.raises(ParseError):
            parse_reply(bad)


def test_provider_codes_and_normalization() -> None:
    cases = {
        "421 mwinf5c40 ME Too many connections OFR004_104 [104]": "OFR004_104",
        "421 x LPN105_104": "LPN105_104",
        "450 4.7.1 <1.2.3.4>: rejected SFR_IN_105": "SFR_IN_105",
        "421 4.7.0 [TSS04] Messages from 1.2.3.4": "TSS04",
        "550 5.7.1 block list (S3140).": "S3140",
    }
    for text, code in cases.items():
        result = classify_reply(parse_reply(text))
        assert result.provider_code == code
        assert code in result.normalized
    a = normalize_reply(
        parse_reply("451 4.7.650 The mail server [203.0.113.5] (S775) id=ABC123xyz9")
    )
    b = normalize_reply(
        parse_reply("451 4.7.650 The mail server [198.51.100.7] (S775) id=ZZZ999abc1")
    )
    assert a == b
    assert "4.7.650" in a
    assert "203.0.113.5" not in a
    c = normalize_reply("550 5.1.1 <bob@example.org> unknown, 2001:db8::1 try 3 times")
    assert "bob@example.org" not in c
    assert "2001:db8::1" not in c
    assert "<addr>" in c


def test_retry_hint_and_default_suspension() -> None:
    result = classify_reply(parse_reply("421 4.7.0 Rate limited, try again in 5 minutes"))
    assert result.action is Action.SLOW
    assert result.retry_after == 300
    assert classify_reply(parse_reply("421 busy, retry in 30 seconds")).retry_after == 30
    tss = classify_reply(parse_reply("421 4.7.0 [TSS04] x"), PROVIDERS.get("yahoo"))
    assert tss.rule == "yahoo-tss04"
    assert tss.action is Action.SLOW  # ambiguous: a ladder of pauses, not a 2 h suspension
    rule = PROVIDERS.rule("yahoo-tss04")
    assert rule is not None
    assert rule.ladder == (180.0, 900.0, 3600.0, 7200.0)  # 3 min first; 2 h at the top


def test_gmx_last_line_decides() -> None:
    text = "421-Too many connections\n421 Rate limit reached"
    assert classify_reply(parse_reply(text), PROVIDERS.get("gmx")).rule == "gmx-rate-limit"


def test_classifier_for_the_sender() -> None:
    classify = make_classifier(*PROVIDERS.providers.values())
    assert classify(451, "4.7.650 The mail server [1.2.3.4] rate limited (S775)").rule == (
        "microsoft-ip-reputation"
    )
    recipient = classify(450, "4.2.1 receiving mail too quickly")
    assert recipient.scope is Scope.RECIPIENT
    assert not recipient.shapes
    assert classify(250, "ok").action is Action.OK
    assert classify(421, "\x00weird\r\n\x00").action is Action.RETRY
    assert classify(550, "5.7.28 blocked").action is Action.SUSPEND  # unambiguous block


_LINE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40).map(str.strip)


@given(st.text(max_size=200))
def test_fuzz_only_parse_error(text: str) -> None:
    try:
        reply = parse_reply(text)
    except ParseError:
        return
    for provider in (None, PROVIDERS.get("gmx"), PROVIDERS.get("orange")):
        classify_reply(reply, provider)
    normalize_reply(text)


@given(
    st.integers(200, 599),
    st.sampled_from([None, "4.7.28", "5.1.1", "2.0.0"]),
    st.lists(_LINE, min_size=1, max_size=4),
)
def test_round_trip(code: int, enhanced: str | None, lines: list[str]) -> None:
    if enhanced and enhanced[0] != str(code)[0]:
        enhanced = None
    lines = [line for line in lines if not line.startswith(tuple("0123456789"))] or ["x"]
    reply = SmtpReply(code=code, enhanced=enhanced, lines=tuple(lines))
    assert parse_reply(reply.to_text()) == reply


def test_hostile_replies_are_read_up_to_a_bound() -> None:
    """A server chooses its reply: normalisation reads at most MAX_REPLY_CHARS of it (the
    pattern is linear; bench/bench_replies.py measures the time)."""
    from mailcheck.sending.replies import MAX_REPLY_CHARS, classify_text

    for hostile in ("a" * 50_000, "a-" * 25_000, "1:" * 25_000, "x@" * 25_000):
        text = "450 " + hostile
        assert len(normalize_reply(text)) <= MAX_REPLY_CHARS
        assert classify_text(450, hostile).action is Action.RETRY


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row[1][:40])
def test_masking_keeps_codes_and_hides_variables(row: tuple[object, ...]) -> None:
    normalized = normalize_reply(str(row[1]))
    assert "203.0.113.5" not in normalized
    assert normalized[:3] == str(row[1])[:3]
