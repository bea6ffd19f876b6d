"""Each rule of the lint, offline: the clean newsletter has no finding, one fault gives its
code (and only the codes that fault implies)."""

from __future__ import annotations

import pytest

from mailcheck.errors import ConfigError
from mailcheck.lint import LintReport, Verdict, lint_offline
from mailcheck.lint.mime import split_multipart
from tests.lint.messages import HEADERS, MIME, UNSUBSCRIBE, newsletter, replace_header, sign

ALL = ("baseline", "gmail-bulk", "yahoo-bulk", "microsoft-bulk")


def lint(message: bytes, **options: object) -> LintReport:
    return lint_offline(message, profiles=ALL, **options)  # type: ignore[arg-type]


def codes(message: bytes, **options: object) -> set[str]:
    return {f.code for f in lint(message, **options).findings}


def test_the_clean_newsletter_has_no_finding_and_every_profile_accepts() -> None:
    report = lint(newsletter())
    assert report.findings == ()
    assert [v.verdict for v in report.verdicts] == [Verdict.ACCEPTED] * 4
    assert report.facts.from_domain == "bulklint.test"
    assert report.facts.dkim_domains == ("bulklint.test",)
    assert report.facts.spf_domain == "bulklint.test"
    assert report.facts.bulk is True


def test_lf_line_endings_read_like_crlf() -> None:
    assert codes(newsletter().replace(b"\r\n", b"\n")) == set()


@pytest.mark.parametrize(
    ("field", "code"),
    [
        (b"From", "lint.from-missing"),
        (b"Date", "lint.date-missing"),
        (b"Message-ID", "lint.message-id-missing"),
    ],
)
def test_required_fields(field: bytes, code: str) -> None:
    message = replace_header(HEADERS + UNSUBSCRIBE + MIME, field, None)
    assert code in codes(message)


def test_a_repeated_single_field() -> None:
    message = newsletter().replace(b"Subject:", b"Subject: again\r\nSubject:", 1)
    report = lint(message)
    (finding,) = report.for_code("lint.header-duplicate")
    assert finding.details["fields"] == ["Subject"]
    # Gmail refuses it; Yahoo puts it at risk.
    verdicts = {v.profile: v.verdict for v in report.verdicts}
    assert verdicts["gmail-bulk"] is Verdict.REJECTED
    assert verdicts["yahoo-bulk"] is Verdict.AT_RISK


def test_from_with_two_addresses() -> None:
    message = replace_header(newsletter(), b"From", b"From: a@bulklint.test, b@bulklint.test")
    report = lint(message)
    (finding,) = report.for_code("lint.from-not-single")
    assert finding.details == {"count": 2}
    assert report.facts.from_domain is None


@pytest.mark.parametrize(
    "line",
    [b"To: reader@@example.net", b'Reply-To: "unterminated <a@b.example>', b"Cc: a b@c.example"],
)
def test_an_address_field_that_does_not_parse(line: bytes) -> None:
    message = newsletter().replace(b"To: reader@example.net", line)
    report = lint(message)
    (finding,) = report.for_code("lint.address-invalid")
    assert finding.details["fields"][0]["field"] == line.split(b":")[0].decode()


def test_display_names_groups_and_comments_are_addresses() -> None:
    line = b'To: "Doe, Jo" <jo@example.net>, friends: a@example.net, b@example.net (b);'
    assert codes(newsletter().replace(b"To: reader@example.net", line)) == set()


def test_date_and_message_id_syntax() -> None:
    message = replace_header(newsletter(), b"Date", b"Date: yesterday at noon")
    message = replace_header(message, b"Message-ID", b"Message-ID: 12345")
    found = codes(message)
    assert {"lint.date-invalid", "lint.message-id-invalid"} <= found


def test_malformed_header_lines() -> None:
    message = b"Garbage line without colon\r\n" + newsletter()
    report = lint(message)
    (finding,) = report.for_code("lint.header-malformed")
    assert finding.details["lines"] == [1]
    bare_cr = newsletter().replace(b"Subject: The", b"Subject: The\rX")
    assert "lint.header-malformed" in codes(bare_cr)


def test_line_lengths() -> None:
    long_998 = newsletter().replace(b"here is the news.</p>", b"x" * 1200 + b"</p>")
    report = lint(long_998)
    (finding,) = report.for_code("lint.line-too-long")
    assert finding.details["count"] == 1
    assert finding.details["longest"] > 998
    assert "lint.line-long" not in codes(long_998)
    long_78 = newsletter().replace(b"here is the news.</p>", b"x" * 80 + b"</p>")
    assert codes(long_78) == {"lint.line-long"}
    assert lint(long_78).verdicts[0].verdict is Verdict.ACCEPTED  # a note, no effect


def test_eight_bit_header() -> None:
    message = newsletter().replace(b"Subject: The December letter", b"Subject: No\xc3\xabl")
    assert codes(message) >= {"lint.eight-bit-header"}
    encoded = newsletter().replace(
        b"Subject: The December letter", b"Subject: =?utf-8?q?No=C3=ABl?="
    )
    assert "lint.eight-bit-header" not in codes(encoded)


def test_eight_bit_body_without_declaration() -> None:
    body = (
        HEADERS + UNSUBSCRIBE + b"Content-Type: text/plain; charset=utf-8\r\n\r\nH\xc3\xa9llo\r\n"
    )
    report = lint(sign(body))
    (finding,) = report.for_code("lint.eight-bit-undeclared")
    assert finding.details["problems"][0]["part"] == "1"
    declared = body.replace(
        b"\r\n\r\n", b"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", 1
    )
    assert "lint.eight-bit-undeclared" not in codes(sign(declared))
    in_part = newsletter().replace(b"8bit\r\n\r\n<p>", b"7bit\r\n\r\n<p>")
    (finding,) = lint(in_part).for_code("lint.eight-bit-undeclared")
    assert finding.details["problems"][0]["part"] == "1.2"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ((b'; boundary="=_b1"', b""), "without a boundary"),
        ((b"--=_b1--", b"--=_b1"), "no closing"),
        ((b'boundary="=_b1"', b'boundary="other"'), "never appears"),
        ((b"MIME-Version: 1.0\r\n", b""), "without MIME-Version"),
        ((b"multipart/alternative", b"multipart"), "not type/subtype"),
    ],
)
def test_broken_mime(change: tuple[bytes, bytes], reason: str) -> None:
    message = newsletter().replace(*change)
    (finding,) = lint(message).for_code("lint.mime-malformed")
    assert any(reason in p["reason"] for p in finding.details["problems"])


def test_transfer_encodings() -> None:
    unknown = newsletter().replace(b"quoted-printable", b"x-uuencode")
    assert "lint.transfer-encoding-invalid" in codes(unknown)
    on_multipart = newsletter().replace(
        b"Content-Type: multipart/alternative",
        b"Content-Transfer-Encoding: base64\r\nContent-Type: multipart/alternative",
    )
    (finding,) = lint(on_multipart).for_code("lint.transfer-encoding-invalid")
    assert "multipart" in finding.details["problems"][0]["reason"]


def test_nested_multiparts_are_walked() -> None:
    inner = MIME.split(b"\r\n\r\n", 1)[1].replace(b"=_b1", b"=_b2")
    nested = (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="=_b0"\r\n\r\n'
        b'--=_b0\r\nContent-Type: multipart/alternative; boundary="=_b2"\r\n\r\n'
        + inner
        + b"--=_b0--\r\n"
    )
    assert codes(sign(HEADERS + UNSUBSCRIBE + nested), mail_from="b@bulklint.test") == set()
    broken = nested.replace(b"--=_b2--", b"")
    (finding,) = lint(sign(HEADERS + UNSUBSCRIBE + broken)).for_code("lint.mime-malformed")
    assert finding.details["problems"][0]["part"] == "1.1"


def test_split_multipart() -> None:
    parts, closed = split_multipart(b"pre\r\n--b\r\nA\r\n--b  \r\nB\r\n--b--\r\nepilogue", b"b")
    assert (parts, closed) == ([b"A", b"B"], True)
    assert split_multipart(b"no delimiter", b"b") == (None, False)
    assert split_multipart(b"--b\nA\n--b\n\n--b--", b"b") == ([b"A", b""], True)


def test_dkim_missing_and_malformed() -> None:
    report = lint(newsletter(signed=False))
    assert {f.code for f in report.findings} >= {"lint.dkim-missing", "lint.unsubscribe-not-signed"}
    verdicts = {v.profile: v.verdict for v in report.verdicts}
    assert verdicts["microsoft-bulk"] is Verdict.REJECTED
    assert verdicts["baseline"] is Verdict.AT_RISK
    broken = newsletter().replace(b"d=bulklint.test;", b"d=bulklint.test; d=twice.example;")
    (finding,) = lint(broken).for_code("lint.dkim-malformed")
    assert "twice" in finding.details["signatures"][0]["reason"]
    assert "lint.dkim-missing" not in codes(broken)  # one finding for one broken signature
    without_from = replace_header(newsletter(signed=False), b"From", None)
    assert {"lint.from-missing", "lint.dkim-missing"} <= codes(without_from)
    no_from = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=bulklint.test; s=s; h=to:subject; bh=x; b=y\r\n"
    )
    (finding,) = lint(no_from + newsletter(signed=False)).for_code("lint.dkim-malformed")
    assert finding.details["signatures"][0]["reason"] == "h= does not sign From"


def test_dkim_alignment_relaxed_and_strict() -> None:
    other = b"Return-Path: <b@bulklint.test>\r\n" + sign(
        HEADERS + UNSUBSCRIBE + MIME, domain="esp.example"
    )
    report = lint(other)
    (finding,) = report.for_code("lint.dkim-not-aligned")
    assert finding.details["dkim_domains"] == ["esp.example"]
    assert "lint.not-aligned" not in codes(other)  # SPF is aligned: DMARC can pass
    sub = b"Return-Path: <b@bulklint.test>\r\n" + sign(
        HEADERS + UNSUBSCRIBE + MIME, domain="mail.bulklint.test"
    )
    assert codes(sub) == set()  # relaxed: the same organisational domain
    assert codes(sub, adkim="s") == {"lint.dkim-not-aligned"}


def test_spf_alignment_from_mail_from_or_return_path() -> None:
    message = newsletter()
    assert codes(message, mail_from="bounce@esp.example") == {"lint.spf-not-aligned"}
    assert codes(message, mail_from="bounce@news.bulklint.test") == set()
    assert codes(message, mail_from="bounce@news.bulklint.test", aspf="s") == {
        "lint.spf-not-aligned"
    }
    elsewhere = newsletter().replace(b"bounce+x@bulklint.test", b"bounce@esp.example")
    assert codes(elsewhere) == {"lint.spf-not-aligned"}


def test_neither_aligned_means_dmarc_cannot_pass() -> None:
    message = sign(HEADERS + UNSUBSCRIBE + MIME, domain="esp.example")
    found = codes(message, mail_from="bounce@esp.example")
    assert found == {"lint.dkim-not-aligned", "lint.spf-not-aligned", "lint.not-aligned"}
    report = lint(message, mail_from="bounce@esp.example")
    assert report.rejected_by == ("gmail-bulk", "yahoo-bulk", "microsoft-bulk")


def test_without_an_envelope_sender_spf_alignment_is_not_checked() -> None:
    message = sign(HEADERS + UNSUBSCRIBE + MIME, domain="esp.example")
    report = lint(message)
    assert "lint.not-aligned" not in {f.code for f in report.findings}
    for verdict in report.verdicts:
        assert "lint.not-aligned" in verdict.not_checked


def test_unsubscribe_missing() -> None:
    report = lint(newsletter(unsubscribe=False))
    assert {f.code for f in report.findings} == {"lint.unsubscribe-missing"}
    verdicts = {v.profile: v.verdict for v in report.verdicts}
    assert verdicts == {
        "baseline": Verdict.ACCEPTED,
        "gmail-bulk": Verdict.AT_RISK,
        "yahoo-bulk": Verdict.AT_RISK,
        "microsoft-bulk": Verdict.AT_RISK,
    }


def test_unsubscribe_needs_https_and_one_click_post() -> None:
    mailto_only = newsletter().replace(b"<https://bulklint.test/u/tok3n>,\r\n ", b"")
    assert codes(mailto_only) == {"lint.unsubscribe-not-https"}
    wrong_post = newsletter().replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Yes")
    (finding,) = lint(wrong_post).for_code("lint.unsubscribe-post-invalid")
    assert finding.details["values"] == ["List-Unsubscribe=Yes"]
    no_post = newsletter().replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", b"")
    assert codes(no_post) == {"lint.unsubscribe-post-invalid"}


def test_unsubscribe_fields_must_be_in_h() -> None:
    """A message signed by DkimSigner without the unsubscribe fields in h=, then with."""
    unsigned_h = ("from", "to", "subject", "date", "message-id", "mime-version", "content-type")
    body = HEADERS + UNSUBSCRIBE + MIME
    without = b"Return-Path: <b@bulklint.test>\r\n" + sign(body, headers=unsigned_h)
    assert codes(without) == {"lint.unsubscribe-not-signed"}
    only_one = b"Return-Path: <b@bulklint.test>\r\n" + sign(
        body, headers=(*unsigned_h, "list-unsubscribe")
    )
    assert codes(only_one) == {"lint.unsubscribe-not-signed"}
    both = b"Return-Path: <b@bulklint.test>\r\n" + sign(
        body, headers=(*unsigned_h, "list-unsubscribe", "list-unsubscribe-post")
    )
    assert codes(both) == set()


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\r\n\r\nbody only", b"just text, no header"])
def test_unreadable(raw: bytes) -> None:
    report = lint(raw)
    assert [f.code for f in report.findings] == ["lint.unreadable"]
    assert report.rejected_by == ALL


def test_profile_selection_changes_the_severity() -> None:
    message = newsletter(unsubscribe=False)
    assert lint_offline(message).findings == ()  # baseline has no unsubscribe rule
    (finding,) = lint_offline(message, profiles=("gmail-bulk",)).findings
    assert finding.severity == "warning"


def test_caller_mistakes() -> None:
    with pytest.raises(ConfigError, match="no lint profile 'hotmail'"):
        lint_offline(newsletter(), profiles=("hotmail",))
    with pytest.raises(ConfigError, match="bytes"):
        lint_offline("From: a@b.example\r\n\r\n")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="alignment"):
        lint_offline(newsletter(), adkim="x")


def test_report_to_dict_is_plain_json() -> None:
    data = lint(newsletter(unsubscribe=False), mail_from="b@bulklint.test").to_dict()
    assert data["status"] == "warn"
    assert data["verdicts"][1]["verdict"] == "at-risk"
    assert data["verdicts"][1]["broken"][0]["rule"] == "one-click-unsubscribe"
    assert data["verdicts"][1]["broken"][0]["source"].startswith("https://support.google.com/")
    assert data["facts"]["spf_domain"] == "bulklint.test"
