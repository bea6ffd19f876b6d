"""The blocklist catalogue: which DNSBL/RHSBL zones exist, what their answers mean.

The catalogue is data (``blocklists.toml`` beside this module); users add or
override zones with their own TOML file of the same shape, keyed by zone name::

    [zones."zen.spamhaus.org"]
    key = "yourdqskey"            # registered (DQS) access: the key goes in the query name

    [zones."bl.example.net"]      # a zone of your own
    kinds = ["ipv4"]
    codes = { "127.0.0.2" = "listed" }

Loading is pure: text in, :class:`Catalogue` out, or :class:`~mailcheck.errors.ConfigError`
naming the zone and the field. Access keys never appear in reprs, ``to_dict`` or errors.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import importlib.resources
import ipaddress
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mailcheck.errors import ConfigError


class ZoneKind(enum.StrEnum):
    """What a zone lists: IPv4 addresses, IPv6 addresses or domain names."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"


class Scope(enum.StrEnum):
    """What a listing is about: the address itself, its range, or its whole network (ASN)."""

    IP = "ip"
    RANGE = "range"
    ASN = "asn"


class ZoneStatus(enum.StrEnum):
    """Whether a zone is worth asking."""

    ACTIVE = "active"
    PAID_DELISTING = "paid-delisting"
    """Active, but the operator sells express delisting: listings expire on their own."""
    DEAD = "dead"
    """Shut down, parked or unreliable: never queried, named so users know why."""


class QueryForm(enum.StrEnum):
    """Which name a domain list is asked about."""

    NAME = "name"
    """The name as given (host names and domains: Spamhaus DBL)."""
    REGISTERED_DOMAIN = "registered-domain"
    """The registrable domain of the name (SURBL, URIBL list only those)."""


# RFC 5782 §5: "IPv4-based DNSxLs MUST contain an entry for 127.0.0.2 for testing purposes.
# IPv4-based DNSxLs MUST NOT contain an entry for 127.0.0.1." IPv6 lists use ::FFFF:7F00:2
# and ::FFFF:7F00:1, domain lists TEST and INVALID.
RFC5782_TEST_ENTRIES = {
    ZoneKind.IPV4: ("127.0.0.2", "127.0.0.1"),
    ZoneKind.IPV6: ("::ffff:7f00:2", "::ffff:7f00:1"),
    ZoneKind.DOMAIN: ("test", "invalid"),
}
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
_CODE_OCTET = re.compile(r"^(?:\*|25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$")
_FIELDS = {
    "name", "kinds", "codes", "refusal", "bitmask", "scope", "allowlist", "status", "verified",
    "source", "delist", "note", "default", "requires_key", "key_zone", "key", "test_entries",
    "test_listed", "query",
}  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """One blocklist (or allow-list) zone and how to read its answers.

    Attributes:
        zone: the public zone name, e.g. ``zen.spamhaus.org``; reports use this name.
        name: a display name.
        kinds: what the zone serves (``ipv4``, ``ipv6``, ``domain``).
        codes: answer -> meaning. Keys are IPv4 addresses, an octet may be ``*``;
            for a ``bitmask`` zone keys are bit values (``"2"``, ``"4"``...).
        refusal: answers (or bits) that mean "query refused / error", never a listing.
        bitmask: the last octet is a set of bits (SURBL, URIBL).
        scope: ``ip``, ``range`` or ``asn`` (a neighbourhood listing).
        allowlist: a listing is good news (dnswl).
        status: ``active``, ``paid-delisting`` or ``dead``.
        verified: when the entry was last checked against its source.
        source: where the facts come from.
        delist: the operator's lookup/removal page.
        note: anything a user should know (usage terms, registration).
        default: queried unless the user disables it.
        requires_key: only usable with an access key.
        key_zone: the zone to ask when a key is set, with ``{key}`` in it.
        test_entries: the zone carries test entries (RFC 5782 §5 or ``test_listed``).
        test_listed: a listed test entry other than the RFC 5782 one.
        query: for domain zones, ask about the name or its registrable domain.
    """

    zone: str
    name: str
    kinds: tuple[ZoneKind, ...]
    codes: Mapping[str, str]
    refusal: Mapping[str, str] = dataclasses.field(default_factory=dict)
    bitmask: bool = False
    scope: Scope = Scope.IP
    allowlist: bool = False
    status: ZoneStatus = ZoneStatus.ACTIVE
    verified: datetime.date | None = None
    source: str = ""
    delist: str | None = None
    note: str = ""
    default: bool = True
    requires_key: bool = False
    key_zone: str | None = None
    test_entries: bool = True
    test_listed: str | None = None
    query: QueryForm = QueryForm.NAME
    _access_key: str | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def has_key(self) -> bool:
        """True when an access key is set (the key itself is never shown)."""
        return self._access_key is not None

    @property
    def query_zone(self) -> str:
        """The zone queries go to: ``key_zone`` with the key when a key is set."""
        if self._access_key is not None and self.key_zone:
            return self.key_zone.format(key=self._access_key)
        if self._access_key is not None:
            return f"{self._access_key}.{self.zone}"
        return self.zone

    @property
    def usable(self) -> bool:
        """Queried at all: not dead, and keyed if it needs a key."""
        return self.status is not ZoneStatus.DEAD and (self.has_key or not self.requires_key)

    def serves(self, kind: ZoneKind) -> bool:
        """True when the zone lists subjects of this kind."""
        return kind in self.kinds

    def hide_key(self, text: str) -> str:
        """``text`` with the access key replaced, for messages built from DNS errors."""
        return text.replace(self._access_key, "<key>") if self._access_key else text


@dataclasses.dataclass(frozen=True, slots=True)
class Catalogue:
    """A set of zones, in a stable order."""

    zones: tuple[Zone, ...]

    def get(self, zone: str) -> Zone | None:
        """The entry for ``zone`` (case-insensitive), or ``None``."""
        zone = zone.lower().rstrip(".")
        return next((z for z in self.zones if z.zone == zone), None)

    def selected(self, kind: ZoneKind) -> tuple[Zone, ...]:
        """The zones queried for subjects of ``kind``: usable, enabled, serving that kind."""
        return tuple(z for z in self.zones if z.usable and z.default and z.serves(kind))

    def dead(self) -> tuple[Zone, ...]:
        """Zones kept in the file as dead, so users who name them learn why."""
        return tuple(z for z in self.zones if z.status is ZoneStatus.DEAD)

    def only(self, names: Iterable[str]) -> Catalogue:
        """A catalogue with just these zones enabled (others kept, disabled).

        Raises:
            ConfigError: a name is not in the catalogue.
        """
        wanted = {n.lower().rstrip(".") for n in names}
        missing = wanted - {z.zone for z in self.zones}
        if missing:
            raise ConfigError(f"unknown blocklist zone(s): {', '.join(sorted(missing))}")
        return Catalogue(
            tuple(dataclasses.replace(z, default=z.zone in wanted) for z in self.zones)
        )


def parse_catalogue(text: str, /, *, base: Catalogue | None = None) -> Catalogue:
    """Parse catalogue TOML; entries for zones already in ``base`` override its fields.

    Raises:
        ConfigError: the TOML does not parse, or an entry is invalid (names the zone and field).
    """
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ConfigError(f"blocklist catalogue: {exc}") from None
    zones_data = data.get("zones", {})
    if not isinstance(zones_data, dict) or set(data) - {"zones"}:
        raise ConfigError('blocklist catalogue: expected only [zones."NAME"] tables')
    merged: dict[str, Zone] = {z.zone: z for z in (base.zones if base else ())}
    for raw_name, entry in zones_data.items():
        name = _zone_name(raw_name)
        if not isinstance(entry, dict):
            raise ConfigError(f"blocklist {name}: expected a table")
        merged[name] = _zone(name, entry, merged.get(name))
    return Catalogue(tuple(merged.values()))


@functools.cache
def builtin_catalogue() -> Catalogue:
    """The curated catalogue shipped with mailcheck (``blocklists.toml``)."""
    text = importlib.resources.files("mailcheck.reputation").joinpath("blocklists.toml")
    return parse_catalogue(text.read_text(encoding="utf-8"))


def load_catalogue(*paths: str | Path, builtin: bool = True) -> Catalogue:
    """The built-in catalogue (unless ``builtin=False``) overridden by each file in turn.

    Raises:
        ConfigError: a file cannot be read or is invalid.
    """
    catalogue = builtin_catalogue() if builtin else Catalogue(())
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"blocklist catalogue {path}: {exc}") from None
        catalogue = parse_catalogue(text, base=catalogue)
    return catalogue


def _zone_name(raw: str) -> str:
    name = raw.strip().lower().rstrip(".")
    labels = name.split(".")
    if len(labels) < 2 or len(name) > 200 or not all(_label_ok(label) for label in labels):
        raise ConfigError(f"blocklist {raw!r}: not a zone name")
    return name


def _label_ok(label: str) -> bool:
    return 0 < len(label) <= 63 and all(c.isalnum() or c in "-_" for c in label) and label.isascii()


def _zone(name: str, entry: dict[str, Any], base: Zone | None) -> Zone:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ConfigError(f"blocklist {name}: unknown field(s) {', '.join(sorted(unknown))}")
    if base is None and "kinds" not in entry:
        raise ConfigError(f"blocklist {name}: a new zone needs 'kinds'")
    fields: dict[str, Any] = {}
    if base is not None:
        fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Zone)}
    else:
        fields = {"zone": name, "name": name, "codes": {"127.0.0.2": "listed"}, "source": "user"}
    for key, value in entry.items():
        fields.update(_field(name, key, value))
    if base is None and "default" not in entry:
        # A dead zone is asked only if a user names it, and then only to say why not.
        fields["default"] = fields.get("status") is not ZoneStatus.DEAD
    if "key" in entry and "default" not in entry and fields.get("requires_key"):
        fields["default"] = True  # giving the key of a keyed-only zone is asking for it
    zone = Zone(**fields)
    _check_codes(zone)
    return zone


def _field(zone: str, key: str, value: Any) -> dict[str, Any]:
    where = f"blocklist {zone}: {key}"
    if key in ("name", "source", "note"):
        return {key: _str(where, value)}
    if key in ("delist", "key_zone", "test_listed"):
        text = _str(where, value)
        if key == "key_zone" and "{key}" not in text:
            raise ConfigError(f"{where}: must contain {{key}}")
        return {key: text or None}
    if key in ("bitmask", "allowlist", "default", "requires_key", "test_entries"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false")
        return {key: value}
    if key == "kinds":
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a non-empty list")
        return {"kinds": tuple(_enum(where, ZoneKind, v) for v in dict.fromkeys(value))}
    if key in ("scope", "status", "query"):
        kinds = {"scope": Scope, "status": ZoneStatus, "query": QueryForm}
        return {key: _enum(where, kinds[key], value)}
    if key == "verified":
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise ConfigError(f"{where}: expected a date (2026-11-22)")
        return {"verified": value}
    if key == "key":
        text = _str(where, value)
        if not _KEY_PATTERN.match(text):
            # Never echo the value: it is a secret.
            raise ConfigError(f"{where}: an access key is letters, digits and '-' (1-63)")
        return {"_access_key": text}
    # codes / refusal
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f'{where}: expected a table of "code" = "meaning"')
    return {key: dict(value)}


def _str(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


def _enum(where: str, kind: type[enum.StrEnum], value: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ConfigError(f"{where}: {value!r} is not one of {allowed}") from None


def _check_codes(zone: Zone) -> None:
    for table in ("codes", "refusal"):
        for code in getattr(zone, table):
            if zone.bitmask and not _is_bit(code):
                raise ConfigError(f"blocklist {zone.zone}: {table}: {code!r} is not a bit value")
            if not zone.bitmask and not is_code_pattern(code):
                raise ConfigError(f"blocklist {zone.zone}: {table}: {code!r} is not an address")
    if zone.test_listed is not None and ZoneKind.DOMAIN not in zone.kinds:
        try:
            ipaddress.ip_address(zone.test_listed)
        except ValueError:
            raise ConfigError(f"blocklist {zone.zone}: test_listed: not an address") from None


def _is_bit(code: str) -> bool:
    return code.isdigit() and code.isascii() and 0 < int(code) < 256 and int(code).bit_count() == 1


def is_code_pattern(code: str) -> bool:
    """True for an IPv4 answer pattern: four octets, each a number or ``*``."""
    octets = code.split(".")
    return len(octets) == 4 and all(_CODE_OCTET.match(o) for o in octets)


def code_matches(pattern: str, address: str) -> bool:
    """True when ``address`` (dotted IPv4) matches ``pattern`` (octets may be ``*``)."""
    return all(p in ("*", a) for p, a in zip(pattern.split("."), address.split("."), strict=True))
