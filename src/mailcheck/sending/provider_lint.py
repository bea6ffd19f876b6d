"""``mailcheck providers --check``: what is wrong with a provider file.

Loading already refuses what cannot be read (a regex that does not compile, a bad rate,
duration or ladder); this adds the checks that need the whole dataset: MX suffixes owned by
two providers, rule names used twice, durations and ladder steps past the longest block,
ladders on rules that are not ``slow``, ``slow`` rules whose duration caps nothing.
"""

from __future__ import annotations

from pathlib import Path

from mailcheck.errors import ConfigError
from mailcheck.sending.providers import DEFAULT_NAME, MAX_DURATION, ProviderSet, read_tables
from mailcheck.sending.types import Action

__all__ = ["lint_provider_file"]


def lint_provider_file(path: str | Path, /, *, builtin: bool = True) -> tuple[str, ...]:
    """Check a provider file; returns the problems found (empty when the file is fine).

    Checks that the file loads (regexes compile, values well-formed), that every provider but
    the default has MX suffixes, that no suffix belongs to two providers, that durations are
    bounded and that rule names are unique.
    """
    problems: list[str] = []
    try:
        raw = read_tables(Path(path))
        merged = ProviderSet.load(builtin=builtin, user_files=(path,))
    except ConfigError as exc:
        return (str(exc),)
    owners: dict[str, str] = {}
    names: set[str] = set()
    for provider in merged.providers.values():
        if provider.name in raw and provider.name != DEFAULT_NAME and not provider.mx:
            problems.append(f"provider {provider.name!r} has rules but matches no MX host")
        for suffix in provider.mx:
            for other, owner in owners.items():
                if owner != provider.name and (suffix.endswith(other) or other.endswith(suffix)):
                    problems.append(f"mx {suffix!r} of {provider.name!r} overlaps {owner!r}")
            owners[suffix] = provider.name
        for rule in provider.rules:
            if rule.duration > MAX_DURATION:
                problems.append(f"rule {rule.name!r}: duration above {MAX_DURATION:.0f} s")
            if rule.ladder and rule.action is not Action.SLOW:
                problems.append(f"rule {rule.name!r}: a ladder applies to slow rules only")
            if any(step > MAX_DURATION for step in rule.ladder):
                problems.append(f"rule {rule.name!r}: ladder step above {MAX_DURATION:.0f} s")
            caps = rule.connections or rule.messages_per_connection or rule.message_rate
            if rule.action is Action.SLOW and rule.duration and not caps:
                problems.append(
                    f"rule {rule.name!r}: a slow rule pauses by its ladder; its duration "
                    "only bounds caps (connections, messages_per_connection, message_rate)"
                )
        if any(step > MAX_DURATION for step in provider.ladder):
            problems.append(f"provider {provider.name!r}: ladder step above {MAX_DURATION:.0f} s")
    for name, table in raw.items():
        for index, rule_table in enumerate(table.get("rule", ())):
            rule_name = str(rule_table.get("name") or f"{name}-{index}")
            if rule_name in names:
                problems.append(f"rule name {rule_name!r} used twice")
            names.add(rule_name)
    return tuple(dict.fromkeys(problems))
