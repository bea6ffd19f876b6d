"""Bounce classification: the data file, RFC 3463 codes, and replies (untrusted text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ConfigError
from mailcheck.hygiene.classify import (
    BounceClass,
    classify_reply,
    classify_status,
    load_bounce_codes,
)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("5.1.1", "hard"),  # user unknown
        ("5.1.10", "hard"),  # RFC 7505 null MX
        ("5.2.1", "hard"),  # mailbox disabled
        ("5.1.2", "hard"),
        ("4.2.2", "soft"),  # mailbox full
        ("5.2.2", "soft"),  # mailbox full, said to be permanent
        ("5.7.1", "not-recipient"),  # policy: never the recipient's fault
        ("5.7.26", "not-recipient"),  # DMARC (RFC 7372 family)
        ("4.7.0", "not-recipient"),  # greylisting, Yahoo TSS04
        ("4.2.1", "not-recipient"),  # Gmail's "receiving mail too fast"
        ("5.4.1", "not-recipient"),
        ("5.1.0", "unknown"),
        ("5.9.9", "unknown"),
        ("5.01.001", "hard"),  # leading zeros are the same code
        ("6.1.1", "unknown"),  # not a status code
        ("", "unknown"),
    ],
)
def test_status_codes(status: str, kind: str) -> None:
    assert classify_status(status).kind == kind


def test_every_entry_cites_a_source_and_policy_never_suppresses() -> None:
    codes = load_bounce_codes()
    assert all(v.source for v in codes.codes.values())
    for pattern, verdict in codes.codes.items():
        if pattern.startswith(("5.7", "4.7")):
            assert not verdict.suppresses, pattern
    assert classify_status("5.7.1").to_dict()["kind"] == "not-recipient"


@pytest.mark.parametrize(
    ("code", "text", "kind", "status"),
    [
        (550, "5.1.1 The email account that you tried to reach does not exist.", "hard", "5.1.1"),
        (550, "5.1.1 The account\n5.1.1 does not exist", "hard", "5.1.1"),  # two lines
        (552, "5.2.2 Mailbox full", "soft", "5.2.2"),
        (552, "4.2.2 over quota", "soft", "5.2.2"),  # the class follows the reply code
        (550, "5.7.1 Service unavailable; client host blocked using Spamhaus", "not-recipient",
         "5.7.1"),
        (550, "User unknown in local recipient table", "hard", None),  # no enhanced code
        (550, "Mailbox unavailable", "unknown", None),  # could be a policy refusal
        (450, "user unknown, try later", "unknown", None),  # text patterns read 5xx only
        (250, "2.0.0 OK", "not-recipient", None),
    ],
)  # fmt: skip
def test_replies(code: int, text: str, kind: str, status: str | None) -> None:
    verdict = classify_reply(code, text)
    assert (verdict.kind, verdict.status) == (kind, status)


def test_the_file_is_checked() -> None:
    with pytest.raises(ConfigError, match="kind"):
        load_bounce_codes('[[code]]\nstatus = "5.1.1"\nkind = "maybe"\nsource = "x"\n')
    with pytest.raises(ConfigError, match="source"):
        load_bounce_codes('[[code]]\nstatus = "5.1.1"\nkind = "hard"\n')
    with pytest.raises(ConfigError, match="twice"):
        load_bounce_codes('[[code]]\nstatus = "5.*"\nkind = "hard"\nsource = "x"\n' * 2)
    with pytest.raises(ConfigError, match=r"C\.S\.D"):
        load_bounce_codes('[[code]]\nstatus = "5.1"\nkind = "hard"\nsource = "x"\n')
    with pytest.raises(ConfigError):
        load_bounce_codes("not toml [")
    custom = load_bounce_codes('[[code]]\nstatus = "5.7.*"\nkind = "hard"\nsource = "mine"\n')
    assert classify_reply(550, "5.7.1 no", codes=custom).kind is BounceClass.HARD


@given(st.integers(min_value=0, max_value=999), st.text(max_size=300))
def test_any_reply_gets_a_verdict(code: int, text: str) -> None:
    verdict = classify_reply(code, text)
    assert verdict.kind in BounceClass
    if verdict.kind is BounceClass.HARD:
        assert 500 <= code < 600


@given(st.text(max_size=40))
def test_any_status_gets_a_verdict(status: str) -> None:
    assert classify_status(status).kind in BounceClass
