"""The provider dataset: loading, layering, MX matching, DNS resolution and linting."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ConfigError, ParseError, TempError
from mailcheck.lookup import DnsResolver
from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending.events import SendEvent
from mailcheck.sending.pacing import PaceReason
from mailcheck.sending.provider_lint import lint_provider_file
from mailcheck.sending.providers import (
    MAX_DURATION,
    Action,
    ProviderSet,
    Rate,
    Scope,
    parse_duration,
    parse_rate,
)
from mailcheck.sending.replies import make_classifier
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import SqliteSpool
from tests.dnsserver import DnsTestServer
from tests.sending.conftest import Sink, fast_pace

BUILTIN = Path(__file__).parents[2] / "src/mailcheck/sending/providers.toml"
EXPECTED = {
    "google", "microsoft", "microsoft365", "yahoo", "apple", "orange", "free", "sfr",
    "laposte", "gmx", "proton", "zoho", "default",
}  # fmt: skip


def test_builtin_dataset_complete_and_sourced() -> None:
    providers = ProviderSet.load()
    assert set(providers.providers) == EXPECTED
    for provider in providers.providers.values():
        assert provider.sources, provider.name
        assert provider.verified[:4].isdigit(), provider.name
        assert bool(provider.mx) == (provider.name != "default")
        for rule in provider.rules:
            assert 0 <= rule.duration <= MAX_DURATION
            assert rule.source, rule.name
    assert providers.get("orange").limits.connections == 2
    assert providers.get("google").limits.tls == "required"
    assert providers.get("gmx").last_line_decides
    rule = providers.rule("microsoft-ip-reputation")
    assert rule is not None
    assert (rule.connections, rule.message_rate, rule.duration) == (
        1,
        Rate(count=1, period=60),
        5400,
    )
    assert providers.rule("nope") is None


def test_builtin_file_lints_clean() -> None:
    assert lint_provider_file(BUILTIN, builtin=False) == ()


def test_rates_and_durations() -> None:
    assert parse_rate("10/s") == Rate(count=10, period=1.0)
    assert parse_rate("5000/h") == Rate(count=5000, period=3600.0)
    assert parse_rate("2/30min").interval == 900.0
    for text in ("10/s", "5000/h", "3/h", "1/min", "2/30min", "7/d"):
        assert parse_rate(parse_rate(text).to_text()) == parse_rate(text)
    for bad in ("", "10", "0/s", "x/s", "10/y", "5/0h"):
        with pytest.raises(ParseError):
            parse_rate(bad)
    assert parse_duration("90min") == 5400.0
    assert parse_duration(30) == 30.0
    for bad_duration in ("soon", -1, float("nan"), float("inf")):
        with pytest.raises(ParseError):
            parse_duration(bad_duration)


def test_every_mx_must_match() -> None:
    providers = ProviderSet.load()
    google = providers.match_mx(["aspmx.l.google.com.", "ALT1.ASPMX.L.GOOGLE.COM"])
    assert google is not None
    assert google.name == "google"
    assert providers.match_mx(["aspmx.l.google.com", "mx.example.net"]) is None
    assert providers.match_mx(["x.olc.protection.outlook.com"]).name == "microsoft"  # type: ignore[union-attr]
    assert providers.match_mx(["t.mail.protection.outlook.com"]).name == "microsoft365"  # type: ignore[union-attr]
    assert providers.match_mx(["notgoogle.com"]) is None
    assert providers.group_of("d.example", ["b.example", "a.example"]) == "a.example,b.example"
    assert providers.group_of("d.example", []) == "d.example"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.toml"
    path.write_text(text)
    return path


def test_user_file_overrides_builtin(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[provider.orange]
connections = 1
message_rates = ["10/s", "5000/h"]

[[provider.orange.rule]]
name = "my-orange"
match = 'OFR_999'
action = "bounce"
scope = "message"

[provider.myhoster]
mx = [".hoster.example"]
tls = "required"
""",
    )
    providers = ProviderSet.load(user_files=[path])
    orange = providers.get("orange")
    assert orange.limits.connections == 1
    assert orange.limits.messages_per_connection == 100
    assert [name for name, _ in orange.limits.message_rates] == ["10/s", "5000/h"]
    assert orange.rules[0].name == "my-orange"
    assert orange.rules[0].action is Action.BOUNCE
    assert orange.rules[0].scope is Scope.MESSAGE
    assert len(orange.rules) > 1
    assert providers.match_mx(["mx1.hoster.example"]).name == "myhoster"  # type: ignore[union-attr]
    assert ProviderSet.load(builtin=False, user_files=[path]).get("google").name == "default"


@pytest.mark.parametrize(
    "text",
    [
        "[provider.x]\nmx = ['.x.example']\n[[provider.x.rule]]\nmatch = '('\naction = 'slow'\n",
        "[provider.x]\nmx = ['.x.example']\n[[provider.x.rule]]\nmatch = 'a'\naction = 'explode'\n",
        "[provider.x]\nmx = ['.x.example']\n[[provider.x.rule]]\naction = 'slow'\n",
        "[provider.x]\nmx = ['x.example']\n",
        "[provider.x]\nmx = ['.x.example']\nconnections = 0\n",
        "[provider.x]\nmx = ['.x.example']\ntls = 'maybe'\n",
        "[provider.x]\nmx = ['.x.example']\nmessage_rates = ['fast']\n",
        "not toml [",
    ],
)
def test_bad_files_raise_and_lint(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError):
        ProviderSet.load(user_files=[path])
    assert len(lint_provider_file(path)) == 1


def test_lint_semantic_problems(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[provider.nomx]
[[provider.nomx.rule]]
name = "orphan"
match = 'x'
action = "suspend"
duration = "30d"

[provider.copy]
mx = [".l.google.com"]
""",
    )
    problems = lint_provider_file(path)
    assert len(problems) == 3  # no MX, duration too long, overlaps google


async def test_resolve_groups(dns_server: DnsTestServer, resolver: DnsResolver) -> None:
    providers = ProviderSet.load()
    vanity = await providers.resolve("Vanity.prov.test.", resolver=resolver)
    assert (vanity.domain, vanity.group, vanity.provider.name) == (
        "vanity.prov.test",
        "google",
        "google",
    )
    assert vanity.mx_hosts == ("aspmx.l.google.com", "alt1.aspmx.l.google.com")
    mixed = await providers.resolve("mixed.prov.test", resolver=resolver)
    assert mixed.provider.name == "default"
    assert mixed.group == "aspmx.l.google.com,backup.prov.test"
    assert (await providers.resolve("tenant.prov.test", resolver=resolver)).group == "microsoft365"
    assert (await providers.resolve("orangeish.prov.test", resolver=resolver)).group == "orange"
    hosted = await providers.resolve("hosted.prov.test", resolver=resolver)
    assert hosted.group == "mx1.hoster.example,mx2.hoster.example"
    assert (await providers.resolve("nullmx.prov.test", resolver=resolver)).group == (
        "nullmx.prov.test"
    )
    nomx = await providers.resolve("nomx.prov.test", resolver=resolver)
    assert (nomx.group, nomx.mx_hosts) == ("nomx.prov.test", ())
    await providers.resolve("vanity.prov.test", resolver=resolver)
    assert dns_server.count("vanity.prov.test", "MX") == 1  # cached with its TTL


async def test_resolve_temperror(dns_server: DnsTestServer, resolver: DnsResolver) -> None:
    dns_server.behave("hosted.prov.test", servfail=True)
    with pytest.raises(TempError):
        await ProviderSet.load().resolve("hosted.prov.test", resolver=resolver)


def test_cli_check_and_provider(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailcheck.cli.main import main

    good = _write(tmp_path, "[provider.x]\nmx = ['.x.example']\n")
    assert main(["providers", "--check", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[provider.y]\nmx = ['.y.example']\nconnections = -1\n")
    assert main(["providers", "--check", str(bad), "--format", "json"]) == 1
    capsys.readouterr()
    assert main(["providers", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in listed} == EXPECTED
    args = ["provider", "vanity.prov.test", "--nameserver", dns_server.address]
    assert main([*args, "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["group"], shown["provider"]["limits"]["connections"]) == ("google", 5)
    assert main(args) == 0


def test_docs_name_every_provider() -> None:
    docs = (Path(__file__).parents[2] / "docs/providers.md").read_text()
    for name in EXPECTED:
        assert f"`{name}`" in docs, name


def test_budgets_for_the_sender(tmp_path: Path) -> None:
    path = _write(tmp_path, "[provider.orange]\nmessage_rates = ['10/s', '5000/h']\n")
    budgets = ProviderSet.load(user_files=[path]).budgets()
    orange = budgets["orange"]
    assert (orange.connections, orange.messages_per_connection) == (2, 100)
    assert [(name, g.interval) for name, g in orange.message_rates] == [
        ("10/s", 0.1),
        ("5000/h", 0.72),
    ]
    assert budgets["default"].connections == 10


@pytest.mark.smtp_replies(data=["421 4.7.0 [TSS04] Messages from 192.0.2.1 deferred", "250 OK"])
async def test_wired_into_the_sender(tmp_path: Path, smtp_sink: Sink) -> None:
    providers = ProviderSet.load()
    events: list[SendEvent] = []
    s = Sender(
        pacing=fast_pace,
        spool=SqliteSpool(str(tmp_path / "q.db"), backoff=60),
        resolver=ZoneResolver([str(Path(__file__).parents[1] / "zones/prov.test.zone")]),
        mx_override={
            host: ("127.0.0.1", smtp_sink.port)
            for host in ("mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net")
        },
        on_event=events.append,
        helo="out.prov.test",
        classify=make_classifier(*providers.providers.values()),
        group_of=providers.group_of,
        budgets=providers.budgets(),
        default_budget=providers.default.limits.budget(),
    )
    msg = b"From: a@prov.test\r\nSubject: hi\r\n\r\nbody\r\n"
    first = await s.submit(msg, mail_from="a@prov.test", rcpt_to=["a@yahooish.prov.test"])
    await s.run_until_idle()
    # The other domain shares the suspended group: it waits too, without an attempt.
    second = await s.submit(msg, mail_from="a@prov.test", rcpt_to=["b@yahooish2.prov.test"])
    await s.run_until_idle()
    assert smtp_sink.received == []
    assert await s.spool.recipients(first) == {"a@yahooish.prov.test": "deferred"}
    assert await s.spool.recipients(second) == {"b@yahooish2.prov.test": "deferred"}
    # Both domains are one group, "yahoo", paused for the first step of the rule's ladder
    # (3 min, not the 2 h block at its top), at a pace cut from what was accepted.
    key = ("default", "yahoo")
    pace = await s.shaper.pace(key, s.routes[key].policy)
    assert 60 < pace.paused_until - s.clock() <= 180
    assert pace.reason is PaceReason.BACKED_OFF
    assert pace.rate < fast_pace("yahoo").first_contact
    # A first step pauses this host's bulk mail; the shared budget is not suspended.
    assert not (await s.backend.take_message(key, ())).suspended
    s.spool.close()


@given(st.text(max_size=30))
def test_fuzz_rates_and_durations_only_parse_error(text: str) -> None:
    for parse in (parse_rate, parse_duration):
        with contextlib.suppress(ParseError):
            parse(text)
