"""The catalogue: the shipped TOML is complete; user files merge; bad files are refused."""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ConfigError
from mailcheck.reputation import (
    Catalogue,
    Scope,
    ZoneKind,
    ZoneStatus,
    builtin_catalogue,
    load_catalogue,
    parse_catalogue,
)
from mailcheck.reputation.decode import query_name


def test_builtin_catalogue_entries_are_complete() -> None:
    catalogue = builtin_catalogue()
    assert len(catalogue.zones) >= 30
    for zone in catalogue.zones:
        assert zone.verified is not None, zone.zone
        assert zone.verified <= datetime.date(2026, 12, 31), zone.zone
        assert all((zone.source, zone.name, zone.codes)), zone.zone
        if zone.status is not ZoneStatus.DEAD:
            assert (zone.delist or "").startswith("https://"), zone.zone
        else:
            assert zone.note, zone.zone
            assert not zone.default, zone.zone


def test_refusal_codes_of_the_research_are_in_the_catalogue() -> None:
    catalogue = builtin_catalogue()
    zen, dbl = catalogue.get("zen.spamhaus.org"), catalogue.get("dbl.spamhaus.org")
    assert zen
    assert dbl
    assert {"127.255.255.252", "127.255.255.254", "127.255.255.255"} <= set(zen.refusal)
    assert "127.0.1.255" in dbl.refusal
    for bitmask in ("multi.surbl.org", "multi.uribl.com"):
        zone = catalogue.get(bitmask)
        assert zone
        assert zone.bitmask
        assert "1" in zone.refusal
    dnswl = catalogue.get("list.dnswl.org")
    assert dnswl
    assert dnswl.allowlist
    assert "127.0.0.255" in dnswl.refusal


def test_selection_skips_dead_keyless_and_wrong_family() -> None:
    catalogue = builtin_catalogue()
    ipv4 = {z.zone for z in catalogue.selected(ZoneKind.IPV4)}
    ipv6 = {z.zone for z in catalogue.selected(ZoneKind.IPV6)}
    assert "zen.spamhaus.org" in ipv4
    assert "zen.spamhaus.org" in ipv6
    assert "bl.spamcop.net" in ipv4
    assert "bl.spamcop.net" not in ipv6
    assert not ipv4 & {z.zone for z in catalogue.dead()}
    assert "dnsbl.sorbs.net" not in ipv4
    assert "dnsbl.ahbl.org" not in ipv4
    assert "combined.mail.abusix.zone" not in ipv4  # needs a key
    assert {"dnsbl-2.uceprotect.net", "dnsbl-3.uceprotect.net"} <= ipv4
    assert catalogue.get("dnsbl-3.uceprotect.net").scope is Scope.ASN  # type: ignore[union-attr]


def test_user_file_overrides_fields_and_keeps_the_key_secret(tmp_path: Path) -> None:
    path = tmp_path / "lists.toml"
    path.write_text(
        '[zones."zen.spamhaus.org"]\nkey = "s3cr3tkey"\n'
        '[zones."bl.spamcop.net"]\ndefault = false\n'
        '[zones."combined.mail.abusix.zone"]\nkey = "abusixkey"\n'
        '[zones."bl.example.net"]\nkinds = ["ipv4"]\n'
    )
    catalogue = load_catalogue(path)
    zen = catalogue.get("zen.spamhaus.org")
    assert zen is not None
    assert zen.has_key
    assert zen.codes == builtin_catalogue().get("zen.spamhaus.org").codes  # type: ignore[union-attr]
    assert query_name(zen, ZoneKind.IPV4, "192.0.2.1") == "1.2.0.192.s3cr3tkey.zen.dq.spamhaus.net"
    assert "s3cr3tkey" not in repr(zen)
    assert "s3cr3tkey" not in repr(catalogue)
    ipv4 = {z.zone for z in catalogue.selected(ZoneKind.IPV4)}
    assert "bl.spamcop.net" not in ipv4
    assert {"combined.mail.abusix.zone", "bl.example.net"} <= ipv4
    new = catalogue.get("bl.example.net")
    assert new is not None
    assert new.codes == {"127.0.0.2": "listed"}
    assert new.source == "user"


def test_only_enables_the_named_zones_and_refuses_unknown_ones() -> None:
    catalogue = builtin_catalogue().only(["bl.spamcop.net", "dnsbl.sorbs.net"])
    assert [z.zone for z in catalogue.selected(ZoneKind.IPV4)] == ["bl.spamcop.net"]
    assert [z.zone for z in catalogue.zones if z.default and z.status is ZoneStatus.DEAD] == [
        "dnsbl.sorbs.net"
    ]
    with pytest.raises(ConfigError):
        builtin_catalogue().only(["no.such.zone"])


@pytest.mark.parametrize(
    "text",
    [
        "not toml [",
        'other = 1\n[zones."a.example"]\nkinds = ["ipv4"]',
        '[zones."a.example"]\ncodes = { "127.0.0.2" = "x" }',  # a new zone needs kinds
        '[zones."a.example"]\nkinds = ["ipv5"]',
        '[zones."a.example"]\nkinds = []',
        '[zones."a.example"]\nkinds = ["ipv4"]\nscope = "planet"',
        '[zones."a.example"]\nkinds = ["ipv4"]\ncodes = { "127.0.0.256" = "x" }',
        '[zones."a.example"]\nkinds = ["ipv4"]\ncodes = { "127.0.0.2" = 2 }',
        '[zones."a.example"]\nkinds = ["domain"]\nbitmask = true\ncodes = { "3" = "x" }',
        '[zones."a.example"]\nkinds = ["ipv4"]\nverified = "yesterday"',
        '[zones."a.example"]\nkinds = ["ipv4"]\nfrobnicate = true',
        '[zones."a.example"]\nkinds = ["ipv4"]\nkey_zone = "no-placeholder.example"',
        '[zones."a.example"]\nkinds = ["ipv4"]\ntest_listed = "not-an-ip"',
        '[zones."nodot"]\nkinds = ["ipv4"]',
        '[zones."a.example"]\nkinds = "ipv4"',
        '[zones]\n"a.example" = 3',
    ],
)
def test_bad_catalogues_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_catalogue(text)


def test_a_bad_key_is_refused_without_being_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_catalogue('[zones."a.example"]\nkinds = ["ipv4"]\nkey = "bad key/with.dots"')
    assert "bad key" not in str(info.value)


def test_round_trip_through_toml() -> None:
    zen = builtin_catalogue().get("zen.spamhaus.org")
    assert zen is not None
    text = tomli_w.dumps(
        {"zones": {zen.zone: {"kinds": list(zen.kinds), "codes": dict(zen.codes)}}}
    )
    assert parse_catalogue(text).get("zen.spamhaus.org").codes == zen.codes  # type: ignore[union-attr]


VALUES = st.recursive(
    st.none().map(lambda _: "")
    | st.booleans()
    | st.integers(-5, 300)
    | st.text(max_size=12)
    | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["name", "kinds", "codes", "refusal", "bitmask", "scope", "allowlist", "status", "verified",
     "source", "delist", "note", "default", "requires_key", "key_zone", "key", "test_entries",
     "test_listed", "query", "bogus"]
)  # fmt: skip


@given(
    name=st.text(min_size=1, max_size=30),
    entry=st.dictionaries(FIELDS, VALUES, max_size=6),
)
def test_fuzzed_entries_give_a_catalogue_or_a_config_error(name: str, entry: dict) -> None:  # type: ignore[type-arg]
    try:
        text = tomli_w.dumps({"zones": {name: entry}})
    except (TypeError, ValueError):
        return
    try:
        catalogue = parse_catalogue(text, base=builtin_catalogue())
    except ConfigError:
        return
    assert isinstance(catalogue, Catalogue)


@given(st.text(max_size=200))
def test_fuzzed_text_gives_a_catalogue_or_a_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_catalogue(text)
