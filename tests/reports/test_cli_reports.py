"""``mailcheck reports ingest|summary|purge|status|domains`` on real files, a real Maildir,
a real Dovecot over IMAPS, and the DNS test server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from tests.dnsserver import DnsTestServer
from tests.imap_server import DovecotTestServer
from tests.reports.reportkit import (
    DAY,
    DOMAIN,
    file_name,
    record,
    report,
    tls_report,
    to_gzip,
    to_message,
    to_tls_json,
    to_xml,
    to_zip,
)
from tests.reports.test_summary import day_records

NOW = int(time.time())
EVIL = "<script>alert('owned')</script>\u202e"  # markup and a bidi override


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_reports(directory: Path, *, days: int = 5) -> int:
    """One report per day in each format reporters use; returns how many reports."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for day in range(days):
        begin = NOW - (day + 1) * DAY
        google = report(f"g{day}", day_records(), begin=begin)
        (directory / f"{file_name(google)}.xml.gz").write_bytes(to_gzip(google))
        evil = report(f"e{day}", [record("198.18.7.1", 10)], begin=begin, reporter=EVIL)
        (directory / f"evil{day}.zip").write_bytes(to_zip(evil))
        plain = report(f"p{day}", [record("198.18.7.2", 3)], begin=begin, reporter="Yahoo")
        (directory / f"{file_name(plain)}.xml").write_bytes(to_xml(plain))
        count += 3
    sub = directory / "messages"
    sub.mkdir()
    neighbour = report("n1", [record("198.18.7.70", 50)], begin=NOW - DAY, domain="neighbour.test")
    (sub / "neighbour.eml").write_bytes(to_message(neighbour))
    (sub / "tls.json").write_bytes(to_tls_json(tls_report("t1", begin=NOW - DAY)))
    (sub / "broken.xml").write_bytes(b"<feedback><report_metadata>")
    (sub / "notes.txt").write_bytes(b"not a report, not read in a directory walk")
    return count + 2


@pytest.fixture
def reports_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "incoming"
    write_reports(directory)
    return directory


def test_ingest_files_then_again_is_idempotent(
    tmp_path: Path, reports_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    code, out, err = run(
        capsys, "reports", "ingest", str(reports_dir), "--db", db, "--domain", DOMAIN,
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert (data["stored"], data["duplicates"], data["foreign"], data["quarantined"]) == (
        16,
        0,
        1,
        1,
    )
    assert data["reasons"] == {"xml": 1}
    assert data["foreign_domains"] == {"neighbour.test": 1}
    assert {f["code"] for f in data["findings"]} == {"report.quarantined", "report.foreign-domain"}
    # Again, without --domain: the domain was remembered, nothing is stored twice.
    code, out, err = run(capsys, "reports", "ingest", str(reports_dir), "--db", db)
    assert code == 0
    assert out.startswith("ingested 18 item(s): 0 stored, 17 duplicate(s)")
    assert "1 quarantined (xml: 1)" in out
    code, out, _ = run(capsys, "reports", "status", "--db", db, "--format", "json")
    status = json.loads(out)
    assert status["reports"] == {"aggregate": 15, "tls": 1, "foreign": 1, "quarantine": 1}
    assert status["managed"] == [DOMAIN]
    assert status["quarantine"][0]["seen"] == 2
    sha = status["quarantine"][0]["sha256"]
    saved = tmp_path / "blob.bin"
    code, out, _ = run(
        capsys, "reports", "quarantine", sha[:12], "--output", str(saved), "--db", db
    )
    assert code == 0
    assert saved.read_bytes() == b"<feedback><report_metadata>"
    code, _, err = run(capsys, "reports", "quarantine", "zz", "--output", str(saved), "--db", db)
    assert code == 2
    assert "no single quarantined blob" in err


def test_a_bad_path_never_loses_the_rest(
    tmp_path: Path, reports_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    missing = tmp_path / "nowhere.xml"
    code, out, err = run(capsys, "reports", "ingest", str(missing), str(reports_dir), "--db", db)
    assert code == 2
    assert err.count("\n") == 1
    assert "nowhere.xml: no such file or directory" in err
    assert "Traceback" not in err
    assert "17 stored" in out  # no --domain: every domain is managed


def test_summary_text_json_html_against_the_dns_server(
    tmp_path: Path,
    reports_dir: Path,
    dns_server: DnsTestServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = str(tmp_path / "r.db")
    assert (
        run(capsys, "reports", "ingest", str(reports_dir), "--db", db, "--domain", DOMAIN)[0] == 0
    )
    dns = ("--nameserver", dns_server.address, "--db", db)
    code, out, err = run(capsys, "reports", "summary", DOMAIN, "--since", "30d", *dns)
    assert code == 0, err
    assert "spf.mailer.reports.test (via include:spf.mailer.reports.test): 650 messages" in out
    assert "DKIM for spf.mailer.reports.test is not set up for your domain" in out
    assert "report.unauthorized-source" in out
    assert "\u202e" not in out  # the bidi override is shown escaped
    code, out, _ = run(capsys, "reports", "summary", DOMAIN, "--format", "json", *dns)
    data = json.loads(out)
    assert data["readiness"]["ready_for"] == "none"
    assert {g["label"] for g in data["groups"]} >= {
        "spf.mailer.reports.test",
        "spoofer.reports.test",
    }
    assert "neighbour.test" not in out  # the foreign report stays apart
    page = tmp_path / "summary.html"
    code, out, _ = run(
        capsys, "reports", "summary", DOMAIN, "--format", "html", "--output", str(page), *dns
    )
    assert code == 0
    assert out == ""
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html
    assert "<script" not in html  # the reporter's name is text, not markup
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html  # no external asset


def test_summary_errors_are_one_line(
    tmp_path: Path, reports_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    code, _, err = run(capsys, "reports", "summary", DOMAIN, "--db", db, "--offline")
    assert code == 2
    assert "no such report store" in err
    run(capsys, "reports", "ingest", str(reports_dir), "--db", db)
    for bad in (("--since", "soon"), ("--since", "0")):
        code, _, err = run(capsys, "reports", "summary", DOMAIN, "--db", db, "--offline", *bad)
        assert code == 2
        assert err.startswith("mailcheck: error:")
        assert err.count("\n") == 1
    code, _out, err = run(capsys, "reports", "summary", "bad domain", "--db", db, "--offline")
    assert code == 2
    assert "is not a domain name" in err


def test_maildir_ingest_moves_handled_mail_to_cur(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n in range(3):
        rep = report(f"m{n}", [record("198.18.7.1", 5)], begin=NOW - (n + 1) * DAY)
        (maildir / "new" / f"17000000{n}.M1P1.host").write_bytes(to_message(rep))
    (maildir / "new" / "17000009.M1P1.host").write_bytes(
        b"From: someone@example.net\r\nSubject: hello\r\n\r\nnot a report\r\n"
    )
    db = str(tmp_path / "r.db")
    code, out, err = run(capsys, "reports", "ingest", "--maildir", str(maildir), "--db", db)
    assert code == 0, err
    assert "3 stored" in out
    assert "1 quarantined (not-a-report: 1)" in out
    assert list((maildir / "new").iterdir()) == []
    assert sorted(p.name.split(":")[1] for p in (maildir / "cur").iterdir()) == ["2,S"] * 4
    code, out, _ = run(capsys, "reports", "ingest", "--maildir", str(maildir), "--db", db)
    assert out.startswith("ingested 0 item(s)")


def test_imap_ingest_over_tls_from_a_real_dovecot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = DovecotTestServer({"dmarc": "imap-secret"})
    server.start()
    try:
        for n in range(2):
            rep = report(f"i{n}", [record("198.18.7.1", 4)], begin=NOW - (n + 1) * DAY)
            server.deliver("dmarc", to_message(rep))
        password = tmp_path / "password"
        password.write_text("imap-secret\n")
        password.chmod(0o600)
        db = str(tmp_path / "r.db")
        url = f"imaps://dmarc@localhost:{server.port}/INBOX"
        imap = ("--imap", url, "--imap-credentials", str(password), "--imap-ca", str(server.cert))
        code, out, err = run(capsys, "reports", "ingest", *imap, "--db", db)
        assert code == 0, err
        assert "2 stored" in out
        # Seen messages are not read again; the password from the environment works too.
        monkeypatch.setenv("MAILCHECK_IMAP_PASSWORD", "imap-secret")
        code, out, err = run(
            capsys, "reports", "ingest", "--imap", url, "--imap-ca", str(server.cert), "--db", db
        )
        assert code == 0, err
        assert out.startswith("ingested 0 item(s)")
        password.write_text("wrong\n")
        code, _, err = run(capsys, "reports", "ingest", *imap, "--db", db)
        assert code == 2
        assert "imap-secret" not in err
        assert "wrong" not in err
    finally:
        server.close()


def test_purge_and_domains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "old"
    directory.mkdir()
    for age in (10, 200, 300):
        rep = report(f"a{age}", [record("198.18.7.1", 1)], begin=NOW - age * DAY)
        (directory / f"a{age}.xml").write_bytes(to_xml(rep))
    db = str(tmp_path / "r.db")
    run(capsys, "reports", "ingest", str(directory), "--db", db)
    code, out, _ = run(capsys, "reports", "purge", "--older-than", "180d", "--db", db)
    assert (code, out) == (0, "2 report(s) purged\n")
    code, _, err = run(capsys, "reports", "purge", "--older-than", "later", "--db", db)
    assert code == 2
    assert "--older-than" in err
    assert (
        run(capsys, "reports", "domains", "add", "Asso.Example.", "--db", db)[1] == "asso.example\n"
    )
    assert run(capsys, "reports", "domains", "--db", db)[1] == "asso.example\n"
    assert run(capsys, "reports", "domains", "remove", "asso.example", "--db", db)[1] == ""
    code, _, err = run(capsys, "reports", "domains", "add", "--db", db)
    assert code == 2
