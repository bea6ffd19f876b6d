"""Known sending services and forwarders, by SPF include name and PTR suffix.

The knowledge is data (``services.toml``, each entry with its source); this module only
loads and matches it. A name matches an entry's suffix when it is the suffix or ends with
``.`` + suffix, so ``spf-a.brevo.com`` is Brevo's.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from importlib import resources
from pathlib import Path

from mailcheck.errors import ConfigError

__all__ = ["Catalogue", "Forwarder", "Service", "load_services"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """A sending service: its display name, include names and sending hosts' PTR suffixes."""

    name: str
    includes: tuple[str, ...]
    rdns: tuple[str, ...] = ()
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Forwarder:
    """A forwarder or list host: PTR suffixes, or a first label list servers use."""

    name: str
    rdns: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    source: str = ""


def _under(name: str, suffixes: tuple[str, ...]) -> bool:
    name = name.lower().rstrip(".")
    return any(name == s or name.endswith("." + s) for s in suffixes)


@dataclasses.dataclass(frozen=True, slots=True)
class Catalogue:
    """The services and forwarders known."""

    services: tuple[Service, ...] = ()
    forwarders: tuple[Forwarder, ...] = ()

    def by_include(self, name: str, /) -> Service | None:
        """The service whose include names cover ``name``."""
        return next((s for s in self.services if _under(name, s.includes)), None)

    def by_rdns(self, name: str, /) -> Service | None:
        """The service whose sending hosts' PTR names end like ``name``."""
        return next((s for s in self.services if s.rdns and _under(name, s.rdns)), None)

    def forwarder(self, name: str, /) -> Forwarder | None:
        """The forwarder or list host ``name`` (a PTR name) belongs to."""
        first = name.lower().split(".", 1)[0]
        for entry in self.forwarders:
            if (entry.rdns and _under(name, entry.rdns)) or any(
                first == label or first.startswith(label + "-") for label in entry.labels
            ):
                return entry
        return None


def _strings(entry: dict[str, object], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of names")
    return tuple(v.lower().rstrip(".") for v in value)


def parse_services(text: str, /, *, where: str = "services.toml") -> Catalogue:
    """Read a catalogue from TOML text (``[[service]]`` and ``[[forwarder]]`` tables).

    Raises:
        ConfigError: not TOML, or an entry without a name.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    services: list[Service] = []
    forwarders: list[Forwarder] = []
    for kind in ("service", "forwarder"):
        entries = data.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(f"{where}: {kind} must be a list of tables ([[{kind}]])")
        for index, entry in enumerate(entries):
            place = f"{where}: {kind} {index + 1}"
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{place}: a name is required")
            source = str(entry.get("source", ""))
            if kind == "service":
                includes = _strings(entry, "includes", place)
                rdns = _strings(entry, "rdns", place)
                services.append(Service(name=name, includes=includes, rdns=rdns, source=source))
            else:
                rdns, labels = _strings(entry, "rdns", place), _strings(entry, "labels", place)
                forwarders.append(Forwarder(name=name, rdns=rdns, labels=labels, source=source))
    return Catalogue(tuple(services), tuple(forwarders))


@functools.cache
def _builtin() -> Catalogue:
    text = resources.files("mailcheck.reports").joinpath("services.toml").read_text("utf-8")
    return parse_services(text, where="mailcheck/reports/services.toml")


def load_services(*paths: str | Path, builtin: bool = True) -> Catalogue:
    """The built-in catalogue, with the entries of ``paths`` first (they win)."""
    catalogues = []
    for path in paths:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read ({exc})") from None
        catalogues.append(parse_services(text, where=str(path)))
    if builtin:
        catalogues.append(_builtin())
    return Catalogue(
        tuple(s for c in catalogues for s in c.services),
        tuple(f for c in catalogues for f in c.forwarders),
    )
