"""``enforcers.toml``: domains whose receivers enforce DMARC more strictly than published.

The file is data with its sources (as ``sending/providers.toml``): each entry names a
domain, what it publishes, what a list should assume (``treat_as``) and at least one
dated source. :func:`load_enforcers` validates it; a list operator may pass their own
file (the same format) to :func:`~mailcheck.lists.mitigation_for`.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import importlib.resources
import os
import tomllib
from typing import Any

from mailcheck.errors import ConfigError, ParseError
from mailcheck.lookup.domains import normalize_domain
from mailcheck.model import ToDict

TREAT_AS = ("quarantine", "reject")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EnforcerSource(ToDict):
    """One source of an entry: where, when, and what it shows."""

    url: str
    date: str
    what: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Enforcer(ToDict):
    """One domain enforced more strictly than it publishes."""

    domain: str
    published: str
    treat_as: str
    behaviour: str
    sources: tuple[EnforcerSource, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Enforcers:
    """The entries of one file, looked up by From domain."""

    entries: tuple[Enforcer, ...] = ()

    def match(self, domain: str, /) -> Enforcer | None:
        """The entry for ``domain`` or a parent of it (``mail.gmail.com`` -> ``gmail.com``)."""
        domain = domain.lower().rstrip(".")
        for entry in self.entries:
            if domain == entry.domain or domain.endswith("." + entry.domain):
                return entry
        return None


def load_enforcers(path: str | os.PathLike[str] | None = None, /) -> Enforcers:
    """Read and validate an enforcers file (default: the built-in ``enforcers.toml``).

    Raises:
        ConfigError: the file cannot be read, is not TOML, or an entry lacks a field,
            a valid domain, a ``treat_as`` of quarantine or reject, or a dated source.
    """
    if path is None:
        return _builtin()
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not TOML ({exc})") from None
    return _parse(data, name)


@functools.cache
def _builtin() -> Enforcers:
    text = importlib.resources.files(__package__).joinpath("enforcers.toml").read_text()
    return _parse(tomllib.loads(text), "enforcers.toml")


def _parse(data: dict[str, Any], where: str) -> Enforcers:
    raw = data.get("enforcer", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: [[enforcer]] must be an array of tables")
    return Enforcers(tuple(_entry(item, f"{where}: enforcer {n}") for n, item in enumerate(raw, 1)))


def _entry(item: Any, where: str) -> Enforcer:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: not a table")
    fields = {k: item.get(k) for k in ("domain", "published", "treat_as", "behaviour")}
    for key, value in fields.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {key} must be a non-empty string")
    try:
        domain = normalize_domain(str(fields["domain"]))
    except ParseError as exc:
        raise ConfigError(f"{where}: domain: {exc.reason}") from None
    if fields["treat_as"] not in TREAT_AS:
        raise ConfigError(f"{where}: treat_as must be one of {', '.join(TREAT_AS)}")
    sources = item.get("source", [])
    if not isinstance(sources, list) or not sources:
        raise ConfigError(f"{where} ({domain}): at least one [[enforcer.source]] is required")
    return Enforcer(
        domain=domain,
        published=str(fields["published"]),
        treat_as=str(fields["treat_as"]),
        behaviour=" ".join(str(fields["behaviour"]).split()),
        sources=tuple(_source(s, f"{where} ({domain})") for s in sources),
    )


def _source(item: Any, where: str) -> EnforcerSource:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: a source must be a table")
    url, date, what = item.get("url"), item.get("date"), item.get("what")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ConfigError(f"{where}: a source needs an https url")
    try:
        datetime.date.fromisoformat(str(date))
    except ValueError:
        raise ConfigError(f"{where}: source date {date!r} is not YYYY-MM-DD") from None
    if not isinstance(what, str) or not what.strip():
        raise ConfigError(f"{where}: a source needs 'what' (what it shows)")
    return EnforcerSource(url=url, date=str(date), what=what)
