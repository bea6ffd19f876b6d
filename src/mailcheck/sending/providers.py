"""The provider dataset: who a destination is (by its MX hosts), its limits and reply rules.

The data lives in ``providers.toml`` (built in) and in user files with the same format.
Precedence: built-in < user files, in the order given. A user entry with the name of a known
provider replaces the keys it sets (``mx``, limits, ...); its rules are tried *before* the rules
already known for that provider. A new name adds a provider.

A domain belongs to a provider when *every* one of its MX hosts ends with one of the provider's
suffixes (a vanity domain hosted at Google is Google; a domain mixing providers is not lumped
in). Otherwise its group is its sorted MX host set, otherwise (no MX) the domain itself.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mailcheck.errors import ConfigError, ParseError
from mailcheck.lookup import Resolver
from mailcheck.lookup.domains import normalize_domain
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.pacing import DEFAULT_LADDER, DEFAULT_LADDER_WINDOW, PacePolicy
from mailcheck.sending.shaping import Budget
from mailcheck.sending.types import Action, Rate, Scope, parse_duration, parse_rate

__all__ = [
    "Action",
    "Limits",
    "Provider",
    "ProviderMatch",
    "ProviderSet",
    "Rate",
    "Rule",
    "Scope",
    "parse_duration",
    "parse_rate",
]

DEFAULT_NAME = "default"
# Longest pause a rule may order: the longest documented block (Free) is 24 h.
MAX_DURATION = 48 * 3600.0
#: The first-contact pace of a destination the dataset does not name (messages per hour):
#: no provider publishes one; 10 a minute is the pace the KumoMTA community holds Gmail to
#: after a 421 4.7.28, a pace every large provider tolerates from a clean IP.
DEFAULT_FIRST_CONTACT = Rate(count=600, period=3600.0)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """The ceiling of one provider group.

    Attributes:
        connections: concurrent connections per egress IP.
        connection_rate: connection opens, or None for no limit.
        message_rates: named message rates, e.g. ``(("10/s", Rate), ("5000/h", Rate))``.
        messages_per_connection: messages before reconnecting.
        recipients_per_message: recipients in one transaction.
        tls: ``opportunistic`` or ``required``.
    """

    connections: int = 10
    connection_rate: Rate | None = None
    message_rates: tuple[tuple[str, Rate], ...] = ()
    messages_per_connection: int = 100
    recipients_per_message: int = 100
    tls: str = "opportunistic"

    def budget(self) -> Budget:
        """The shaper's :class:`~mailcheck.sending.shaping.Budget` for these limits."""
        return Budget(
            connections=self.connections,
            connection_rate=_gcra(self.connection_rate) if self.connection_rate else None,
            message_rates=tuple((name, _gcra(rate)) for name, rate in self.message_rates),
            messages_per_connection=self.messages_per_connection,
            recipients_per_message=self.recipients_per_message,
        )


def _gcra(rate: Rate) -> Gcra:
    """A GCRA spacing events evenly at ``rate`` (no burst: bursts are what providers punish)."""
    return Gcra(interval=rate.interval, burst=1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A reaction to a reply: regex on the normalised one-line reply -> action.

    Attributes:
        name: a unique name (reported in events).
        pattern: the compiled regex (case-insensitive) searched in the normalised reply.
        action: what to do.
        scope: whom the reply judges.
        category: the :class:`~mailcheck.sending.replies.Category` value it implies.
        duration: seconds the action lasts (suspension, slow-down), 0 = until exit.
        threshold: fire only past this many matches per window (counted by the shaper).
        connections: connection limit while slowed.
        messages_per_connection: per-connection limit while slowed.
        message_rate: message rate while slowed.
        exit_after: successes after which a slow-down ends (0 = on expiry only).
        ladder: for ``slow``, the pauses by repetition within ``ladder_window`` (empty:
            the provider's ladder). The last step is the provider's documented block length.
        ladder_window: seconds within which repetitions climb the ladder (0: the
            provider's).
        source: where the reply string and the reaction come from.
    """

    name: str
    pattern: re.Pattern[str]
    action: Action
    scope: Scope
    category: str = ""
    duration: float = 0.0
    threshold: Rate | None = None
    connections: int | None = None
    messages_per_connection: int | None = None
    message_rate: Rate | None = None
    exit_after: int = 0
    ladder: tuple[float, ...] = ()
    ladder_window: float = 0.0
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """One provider of the dataset.

    Attributes:
        name: short name, the provider group.
        description: who it is.
        mx: MX host suffixes (``.google.com``); empty for the default entry.
        limits: the ceiling of its budget.
        rules: reply rules, tried in order.
        last_line_decides: the last line of a multi-line reply decides (GMX).
        first_contact: the pace of an egress IP with no history here (None: the default
            entry's); ``first_contact_source`` says where it comes from.
        silent_drop: above its limit the provider accepts mail (250) and destroys it.
        ladder: pauses after a throttling reply, by repetition within ``ladder_window``.
        sources: where the values come from.
        verified: the date the values were last checked.
    """

    name: str
    description: str = ""
    mx: tuple[str, ...] = ()
    limits: Limits = Limits()
    rules: tuple[Rule, ...] = ()
    last_line_decides: bool = False
    first_contact: Rate | None = None
    first_contact_source: str = ""
    silent_drop: bool = False
    ladder: tuple[float, ...] = DEFAULT_LADDER
    ladder_window: float = DEFAULT_LADDER_WINDOW
    sources: tuple[str, ...] = ()
    verified: str = ""

    def matches_host(self, host: str) -> bool:
        """Whether ``host`` ends with one of the MX suffixes."""
        host = host.lower().rstrip(".")
        return any(host.endswith(s) or host == s.lstrip(".") for s in self.mx)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProviderMatch:
    """Which group a domain belongs to.

    Attributes:
        domain: the destination domain.
        provider: the provider (the default entry when no provider matched).
        group: provider name, else the sorted MX host set joined by ``,``, else the domain.
        mx_hosts: the MX hosts by preference (empty: none; ``(".",)``: null MX).
    """

    domain: str
    provider: Provider
    group: str
    mx_hosts: tuple[str, ...]


def _rule(provider: str, index: int, raw: Mapping[str, Any]) -> Rule:
    """Build one rule from its TOML table."""
    where = f"provider {provider!r} rule {index}"
    try:
        return Rule(
            name=str(raw.get("name") or f"{provider}-{index}"),
            pattern=re.compile(str(raw["match"]), re.IGNORECASE),
            action=Action(raw["action"]),
            scope=Scope(raw.get("scope", "ip")),
            category=str(raw.get("category", "")),
            duration=parse_duration(raw.get("duration", 0)),
            threshold=parse_rate(raw["threshold"]) if "threshold" in raw else None,
            connections=int(raw["connections"]) if "connections" in raw else None,
            messages_per_connection=(
                int(raw["messages_per_connection"]) if "messages_per_connection" in raw else None
            ),
            message_rate=parse_rate(raw["message_rate"]) if "message_rate" in raw else None,
            exit_after=int(raw.get("exit_after", 0)),
            ladder=_ladder(raw.get("ladder", ())),
            ladder_window=parse_duration(raw.get("ladder_window", 0)),
            source=str(raw.get("source", "")),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing {exc.args[0]!r}") from exc
    except (re.error, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _ladder(raw: Any) -> tuple[float, ...]:
    """A ladder of pauses: a list of durations, each at least the one before."""
    if not isinstance(raw, list | tuple):
        raise ValueError("ladder must be a list of durations")
    steps = tuple(parse_duration(step) for step in raw)
    if any(b < a for a, b in itertools.pairwise(steps)) or any(s <= 0 for s in steps):
        raise ValueError("ladder steps must be positive and increasing")
    return steps


def _limits(base: Limits, raw: Mapping[str, Any], where: str) -> Limits:
    """Overlay the limit keys of ``raw`` on ``base``."""
    try:
        changes: dict[str, Any] = {}
        for key in ("connections", "messages_per_connection", "recipients_per_message"):
            if key in raw:
                changes[key] = int(raw[key])
                if changes[key] < 1:
                    raise ValueError(f"{key} must be >= 1")
        if "connection_rate" in raw:
            changes["connection_rate"] = parse_rate(raw["connection_rate"])
        if "message_rates" in raw:
            changes["message_rates"] = tuple((str(r), parse_rate(r)) for r in raw["message_rates"])
        if "tls" in raw:
            if raw["tls"] not in ("opportunistic", "required"):
                raise ValueError("tls must be 'opportunistic' or 'required'")
            changes["tls"] = raw["tls"]
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return dataclasses.replace(base, **changes)


def _provider(name: str, raw: Mapping[str, Any], base: Provider | None) -> Provider:
    """Build (or overlay on ``base``) one provider from its TOML table."""
    base = base or Provider(name=name)
    rules = tuple(_rule(name, i, r) for i, r in enumerate(raw.get("rule", ())))
    mx = tuple(str(s).lower() for s in raw.get("mx", base.mx))
    if any(not s.startswith(".") or len(s) < 3 for s in mx):
        raise ConfigError(f"provider {name!r}: mx suffixes must start with '.'")
    return dataclasses.replace(
        base,
        description=str(raw.get("description", base.description)),
        mx=mx,
        limits=_limits(base.limits, raw, f"provider {name!r}"),
        rules=rules + base.rules,
        last_line_decides=bool(raw.get("last_line_decides", base.last_line_decides)),
        **_pace_keys(name, raw, base),
        sources=tuple(str(s) for s in raw.get("sources", base.sources)),
        verified=str(raw.get("verified", base.verified)),
    )


def _pace_keys(name: str, raw: Mapping[str, Any], base: Provider) -> dict[str, Any]:
    """The first-contact pace, silent-drop flag and ladder of a provider table."""
    where = f"provider {name!r}"
    try:
        first = parse_rate(raw["first_contact"]) if "first_contact" in raw else base.first_contact
        ladder = _ladder(raw["ladder"]) if "ladder" in raw else base.ladder
        window = parse_duration(raw.get("ladder_window", base.ladder_window))
    except (ParseError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if first is not None and "first_contact" in raw and not raw.get("first_contact_source"):
        raise ConfigError(f"{where}: first_contact needs a first_contact_source")
    return {
        "first_contact": first,
        "first_contact_source": str(raw.get("first_contact_source", base.first_contact_source)),
        "silent_drop": bool(raw.get("silent_drop", base.silent_drop)),
        "ladder": ladder or DEFAULT_LADDER,
        "ladder_window": window or DEFAULT_LADDER_WINDOW,
    }


def read_tables(path: Path | None) -> dict[str, Any]:
    """The ``provider`` tables of a TOML file (None = the built-in file)."""
    try:
        if path is None:
            text = importlib.resources.files(__package__).joinpath("providers.toml").read_text()
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path or 'providers.toml'}: {exc}") from exc
    providers = data.get("provider", {})
    if not isinstance(providers, dict):
        raise ConfigError(f"{path}: [provider.NAME] tables expected")
    return providers


class ProviderSet:
    """Providers by name, the default entry last; see the module docstring for precedence."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        """Keep ``providers`` (one of them may be named ``default``)."""
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        self.default = self.providers.get(DEFAULT_NAME) or Provider(name=DEFAULT_NAME)

    @classmethod
    def load(cls, *, builtin: bool = True, user_files: Sequence[str | Path] = ()) -> ProviderSet:
        """Load the built-in dataset, then overlay ``user_files`` in order.

        Raises:
            ConfigError: a file cannot be read or holds an invalid value.
        """
        found: dict[str, Provider] = {}
        layers: list[Path | None] = [None] if builtin else []
        layers += [Path(f) for f in user_files]
        for layer in layers:
            for name, raw in read_tables(layer).items():
                if not isinstance(raw, dict):
                    raise ConfigError(f"{layer}: provider {name!r} must be a table")
                found[name] = _provider(name, raw, found.get(name))
        return cls(found.values())

    def get(self, name: str) -> Provider:
        """The provider named ``name`` (the default entry when unknown)."""
        return self.providers.get(name, self.default)

    def match_mx(self, hosts: Sequence[str]) -> Provider | None:
        """The provider every one of ``hosts`` belongs to, or None."""
        real = [h for h in hosts if h.strip(".")]
        if not real:
            return None
        for provider in self.providers.values():
            if provider.mx and all(provider.matches_host(h) for h in real):
                return provider
        return None

    def group_of(self, domain: str, hosts: Sequence[str]) -> str:
        """The provider group: provider name, else the sorted MX host set, else the domain.

        Suitable as ``Sender(group_of=...)``.
        """
        provider = self.match_mx(hosts)
        if provider is not None:
            return provider.name
        real = sorted({h.lower().rstrip(".") for h in hosts if h.strip(".")})
        return ",".join(real) or domain

    def budgets(self) -> dict[str, Budget]:
        """Budget per provider group, for ``Sender(budgets=..., default_budget=...)``."""
        return {name: p.limits.budget() for name, p in self.providers.items()}

    def rule(self, name: str) -> Rule | None:
        """The rule named ``name`` (``Classification.rule``), with its limits while slowed."""
        return next((r for p in self.providers.values() for r in p.rules if r.name == name), None)

    def pace_policy(self, group: str, /, *, drain_target: float = 3600.0) -> PacePolicy:
        """How the pace of ``group`` is learned: its first-contact pace (the default
        entry's, else :data:`DEFAULT_FIRST_CONTACT`), its configured message rates as the
        ceiling, whether it drops silently, and the drain target."""
        provider = self.get(group)
        first = provider.first_contact or self.default.first_contact or DEFAULT_FIRST_CONTACT
        rates = [rate.per_second for _, rate in provider.limits.message_rates]
        ceiling = min(rates) if rates else None
        # Two throttling replies within the longest ladder window stop the probing for as
        # long: a third would climb the ladder toward the provider's block.
        windows = [provider.ladder_window, *(r.ladder_window for r in provider.rules)]
        return PacePolicy(
            first_contact=min(first.per_second, ceiling or first.per_second),
            ceiling=ceiling,
            silent_drop=provider.silent_drop,
            drain_target=drain_target,
            strike_window=max(windows),
        )

    def limits_of(self, group: str) -> Limits:
        """The limits of a group (the default entry's for a non-provider group)."""
        return self.get(group).limits

    async def resolve(self, domain: str, /, *, resolver: Resolver) -> ProviderMatch:
        """Find the MX hosts of ``domain`` and the group they put it in.

        Raises:
            TempError: DNS could not answer (the caller retries later).
            ParseError: ``domain`` is not a valid domain name.
        """
        domain = normalize_domain(domain)
        answer = await resolver.query(domain, "MX")
        hosts = tuple(host for _, host in answer.mx_hosts()) if answer.ok else ()
        provider = self.match_mx(hosts)
        return ProviderMatch(
            domain=domain,
            provider=provider or self.default,
            group=self.group_of(domain, hosts),
            mx_hosts=hosts,
        )
