"""The CLI's shared pieces: argument types, input files, exit codes, help, console, bar.

The bulk runner they use is tested in tests/test_bulk.py."""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

import pytest
from rich.text import Text

from mailcheck.cli import render
from mailcheck.cli.common import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNKNOWN,
    HelpFormatter,
    Tally,
    bounded_int,
    fails,
    positive_float,
    progress_bar,
    read_input_file,
)
from mailcheck.errors import ConfigError
from mailcheck.model import CheckStatus, Finding, Severity


def test_progress_bar_draws_nothing_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with progress_bar("checking", 3) as advance:
        for _ in range(3):
            advance()
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    "text", ["nan", "NaN", "inf", "-inf", "0", "-1", "1e400", "", "five", "3601", "\x00"]
)
def test_positive_float_refuses_non_finite_and_non_positive(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_float(3600)(text)


def test_positive_float_accepts_a_plain_number() -> None:
    assert positive_float(3600)("2.5") == 2.5
    assert positive_float()("1e-3") == 0.001


@pytest.mark.parametrize("text", ["0", "-3", "999999999999999999999", "1.5", "", "0x10", "٣"])
def test_bounded_int_refuses_out_of_range_and_non_integers(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        bounded_int(1, 10_000)(text)


def test_bounded_int_accepts_the_bounds() -> None:
    assert bounded_int(1, 10)("1") == 1
    assert bounded_int(1, 10)(" 10 ") == 10


def test_read_input_file_skips_comments_keeps_line_numbers_and_duplicates_once(
    tmp_path: Path,
) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# customers\nexample.org\n\nexample.net  # new\nexample.org\n")
    lines = read_input_file(str(listing), what="domain")
    assert [(x.text, x.line) for x in lines] == [("example.org", 2), ("example.net", 4)]
    assert lines[1].where == f"{listing}:4"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "no domain"),
        (b"# nothing\n\n   \n", "no domain"),
        (b"example.org\n\xff\xfe\x00binary\n", ":2: not UTF-8"),
        (b"example.org\nexa\x00mple.net\n", ":2: a NUL byte"),
    ],
)
def test_read_input_file_names_the_file_and_line_of_a_bad_file(
    tmp_path: Path, content: bytes, says: str
) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(str(listing))) as caught:
        read_input_file(str(listing), what="domain")
    assert says in str(caught.value)


def test_read_input_file_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.txt"):
        read_input_file(str(tmp_path / "missing.txt"), what="domain")
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path))):
        read_input_file(str(tmp_path), what="domain")


def _finding(code: str, severity: Severity) -> Finding:
    return Finding(code=code, severity=severity, subject="example.org", message="m")


def test_tally_exit_codes() -> None:
    error = _finding("spf.missing", Severity.ERROR)
    temperror = _finding("spf.temperror", Severity.WARNING)
    ok = Tally()
    ok.add(CheckStatus.PASS, (), "error")
    assert ok.exit_code() == EXIT_OK
    unknown = Tally()
    unknown.add(CheckStatus.UNKNOWN, (temperror,), "warning")  # a temperror is not a finding
    assert unknown.exit_code() == EXIT_UNKNOWN
    unknown.add(CheckStatus.FAIL, (error,), "error")
    assert unknown.exit_code() == EXIT_FINDINGS  # something certainly wrong beats unknown
    unknown.bad_input += 1
    assert unknown.exit_code() == EXIT_ERROR


def test_help_formatter_shows_defaults_once() -> None:
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds")
    parser.add_argument("--spool", default="x", help="the spool (default: ./x)")
    parser.add_argument("--flag", action="store_true", help="a flag")
    text = parser.format_help()
    assert "seconds (default: 5.0)" in text
    assert text.count("default") == 2
    assert "a flag\n" in text


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    def draw() -> str:
        out = io.StringIO()
        render.print_lines(render.make_console(out, color=True), [Text("x", style="red")])
        return out.getvalue()

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[31m" in draw()
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[31m" not in draw()
    monkeypatch.setenv("NO_COLOR", "")  # https://no-color.org: only a non-empty value counts
    assert "\x1b[31m" in draw()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"status": "pass"}, None),
        (
            {
                "status": "unknown",
                "findings": [
                    {
                        "code": "mx.temperror",
                        "details": {"error": "example.org MX: timeout at 127.0.0.1:5399"},
                        "message": "m",
                    }
                ],
            },
            "example.org MX: timeout at 127.0.0.1:5399",
        ),
        (
            {
                "status": "unknown",
                "selectors": [
                    {
                        "findings": [
                            {
                                "code": "dkim.temperror",
                                "details": {},
                                "message": "The key could not be fetched: s._domainkey TXT: x.",
                            }
                        ]
                    }
                ],
            },
            "s._domainkey TXT: x",
        ),
        ({"status": "unknown", "error": "explicit"}, "explicit"),
    ],
)
def test_could_not_check_reason(data: dict[str, object], reason: str | None) -> None:
    assert render.could_not_check(data) == reason


def test_summary_of_an_unknown_check_is_never_an_absence() -> None:
    data = {"status": "unknown", "findings": [{"code": "spf.temperror", "details": {}}]}
    text = render.summary(data, lambda d: "no SPF record")
    assert text.startswith("could not check (")
    assert "no SPF" not in text


def test_fails_counts_could_not_check_unless_told_not_to() -> None:
    temperror = _finding("dkim.temperror", Severity.WARNING)
    assert fails([temperror], "warning")  # dkim check: a key that could not be fetched
    assert not fails([temperror], "warning", temperrors=False)  # Tally: that is exit 3
    assert not fails([_finding("dkim.key-weak", Severity.WARNING)], "error")
