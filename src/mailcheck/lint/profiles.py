"""The lint profiles: read ``profiles.toml`` (built in) or a user's file, and validate it.

A profile is data: rules naming finding codes, each with the action a receiver takes, its
source and its date (format in ``docs/bulk-sender-rules.md``). A bad file is a
:class:`~mailcheck.errors.ConfigError` naming the profile, the rule and the key.
"""

from __future__ import annotations

import datetime
import functools
import importlib.resources
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mailcheck.codes import REGISTRY
from mailcheck.errors import ConfigError
from mailcheck.lint.types import Profile, ProfileRule, RuleAction

#: The profiles ``lint_message`` uses when none is named.
DEFAULT_PROFILES = ("baseline",)
#: A profile file larger than this is refused unread.
MAX_PROFILE_FILE = 1024 * 1024

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PROFILE_KEYS = frozenset({"provider", "description", "rule"})
_RULE_KEYS = frozenset({"name", "action", "codes", "source", "date", "summary"})
# Only codes of the checks the lint runs may be named.
_CODE_AREAS = ("lint.", "rdns.")


class ProfileSet:
    """Profiles by name. ``ProfileSet.builtin()`` is the shipped file, read once."""

    def __init__(self, profiles: Iterable[Profile]) -> None:
        self._profiles = {p.name: p for p in profiles}

    def __contains__(self, name: object) -> bool:
        return name in self._profiles

    @property
    def names(self) -> tuple[str, ...]:
        """The profile names, in file order."""
        return tuple(self._profiles)

    def get(self, name: str) -> Profile:
        """The profile ``name``.

        Raises:
            ConfigError: no such profile (the message lists the known ones).
        """
        try:
            return self._profiles[name]
        except KeyError:
            known = ", ".join(self._profiles)
            raise ConfigError(f"no lint profile {name!r} (known: {known})") from None

    def select(self, names: Sequence[str]) -> tuple[Profile, ...]:
        """The named profiles, in order, each once.

        Raises:
            ConfigError: an unknown name, or no name at all.
        """
        if not names:
            raise ConfigError("name at least one lint profile")
        return tuple(self.get(n) for n in dict.fromkeys(names))

    @classmethod
    def builtin(cls) -> ProfileSet:
        """The profiles shipped with mailcheck (``mailcheck/lint/profiles.toml``)."""
        return _builtin()

    @classmethod
    def from_file(cls, path: str | Path, /, *, extend_builtin: bool = True) -> ProfileSet:
        """Profiles from a TOML file; with ``extend_builtin`` they add to (or replace, by
        name) the built-in ones.

        Raises:
            ConfigError: the file cannot be read or is not a valid profile file.
        """
        source = Path(path)
        try:
            if source.stat().st_size > MAX_PROFILE_FILE:
                raise ConfigError(f"{source}: larger than {MAX_PROFILE_FILE} bytes")
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read the profile file ({exc})") from None
        profiles = parse_profiles(data, origin=str(source))
        if not extend_builtin:
            return cls(profiles)
        merged = {p.name: p for p in _builtin()._profiles.values()}
        merged.update({p.name: p for p in profiles})
        return cls(merged.values())


@functools.cache
def _builtin() -> ProfileSet:
    text = importlib.resources.files(__package__).joinpath("profiles.toml").read_text("utf-8")
    return ProfileSet(parse_profiles(tomllib.loads(text), origin="profiles.toml"))


def parse_profiles(data: Mapping[str, Any], /, *, origin: str = "profiles") -> list[Profile]:
    """Validate the parsed TOML of a profile file and build its profiles.

    Raises:
        ConfigError: an unknown key, a missing or mistyped value, an unknown action or
            finding code, a code named twice in one profile, a date that is not ISO.
    """
    extra = set(data) - {"profile"}
    if extra:
        raise ConfigError(f"{origin}: unknown top-level key(s) {sorted(extra)}")
    tables = data.get("profile")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{origin}: no [profile.NAME] table")
    return [_profile(name, table, origin) for name, table in tables.items()]


def _profile(name: str, table: Any, origin: str) -> Profile:
    where = f"{origin}: profile {name!r}"
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}: a name is lower-case words joined by '-'")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: not a table")
    extra = set(table) - _PROFILE_KEYS
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}")
    rules_data = table.get("rule", [])
    if not isinstance(rules_data, list) or not rules_data:
        raise ConfigError(f"{where}: no [[profile.{name}.rule]]")
    rules = tuple(_rule(item, f"{where} rule {i + 1}") for i, item in enumerate(rules_data))
    seen: dict[str, str] = {}
    for rule in rules:
        for code in rule.codes:
            if code in seen:
                raise ConfigError(f"{where}: {code} is in rules {seen[code]!r} and {rule.name!r}")
            seen[code] = rule.name
    if len({r.name for r in rules}) != len(rules):
        raise ConfigError(f"{where}: two rules have the same name")
    return Profile(
        name=name,
        provider=_text(table, "provider", where),
        description=_text(table, "description", where, required=False),
        rules=rules,
    )


def _rule(item: Any, where: str) -> ProfileRule:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: not a table")
    extra = set(item) - _RULE_KEYS
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}")
    name = _text(item, "name", where)
    where = f"{where} ({name})"
    action_text = _text(item, "action", where)
    try:
        action = RuleAction(action_text)
    except ValueError:
        allowed = ", ".join(a.value for a in RuleAction)
        raise ConfigError(f"{where}: action {action_text!r} is not one of {allowed}") from None
    rule_codes = item.get("codes")
    if (
        not isinstance(rule_codes, list)
        or not rule_codes
        or not all(isinstance(c, str) for c in rule_codes)
    ):
        raise ConfigError(f"{where}: codes must be a non-empty list of finding codes")
    for code in rule_codes:
        if code not in REGISTRY or not code.startswith(_CODE_AREAS):
            raise ConfigError(f"{where}: {code!r} is not a lint.* or rdns.* finding code")
    date = _text(item, "date", where)
    try:
        datetime.date.fromisoformat(date)
    except ValueError:
        raise ConfigError(f"{where}: date {date!r} is not YYYY-MM-DD") from None
    return ProfileRule(
        name=name,
        codes=tuple(dict.fromkeys(rule_codes)),
        action=action,
        source=_text(item, "source", where),
        date=date,
        summary=_text(item, "summary", where, required=False),
    )


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value.strip()
