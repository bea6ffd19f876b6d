"""A per-audit DNS query budget: a bound on the questions one audit may ask.

A domain's own zone decides how many questions auditing it takes (MX hosts,
their addresses, SPF includes...). A control panel audits customers' zones
through its resolver, so one hostile zone must not turn an audit into a
flood aimed at a blocklist operator. :class:`QueryBudget` counts the
distinct questions asked through the resolvers it wraps; once the budget is
spent, further questions raise :class:`QueryBudgetExhausted`, a
:class:`~mailcheck.errors.TempError`: the checks that could not ask are
``unknown`` ("could not check"), never "missing".

Example:
    >>> budget = QueryBudget(500)                       # doctest: +SKIP
    >>> resolver = budget.wrap(DnsResolver())           # doctest: +SKIP
    >>> await audit_spf("example.org", resolver=resolver)  # doctest: +SKIP
    >>> budget.used, budget.refused                     # doctest: +SKIP
"""

from __future__ import annotations

from mailcheck.errors import ConfigError, TempError
from mailcheck.lookup.answer import DnsAnswer
from mailcheck.lookup.resolver import Resolver

# Questions one domain audit may ask by default. A domain with one MX host, two declared IPs
# and the built-in blocklist catalogue asks about 120 (zone self-tests included); a zone at
# the MX caps (10 hosts x 5 addresses, each checked against every list) about 1,000. Issue 13
# measured 180,642 questions for 10 MX hosts of 1,000 addresses before the caps existed.
DEFAULT_QUERY_BUDGET = 2_000


class QueryBudgetExhausted(TempError):
    """The audit's query budget is spent: this question was not asked."""


class QueryBudget:
    """Counts the distinct questions of one audit and refuses those over ``limit``.

    Identical questions (same name and type) count once: the resolver answers
    them from its cache or its question in flight, so they cost nothing more.

    Args:
        limit: the number of distinct questions allowed (at least 1).

    Raises:
        ConfigError: ``limit`` is not a positive integer.
    """

    def __init__(self, limit: int = DEFAULT_QUERY_BUDGET) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"query budget {limit!r}: expected a positive integer")
        self.limit = limit
        self.refused = 0
        """Questions refused because the budget was spent."""
        self._asked: set[tuple[str, str]] = set()

    @property
    def used(self) -> int:
        """Distinct questions asked so far."""
        return len(self._asked)

    @property
    def exhausted(self) -> bool:
        """True once a question was refused."""
        return self.refused > 0

    def charge(self, name: str, rdtype: str) -> None:
        """Count one question, or raise when it does not fit.

        Raises:
            QueryBudgetExhausted: the budget is spent (the question must not be asked).
        """
        key = (name.strip().lower().rstrip("."), rdtype.upper())
        if key in self._asked:
            return
        if len(self._asked) >= self.limit:
            self.refused += 1
            raise QueryBudgetExhausted(
                name, rdtype.upper(), f"not asked: the audit's query budget ({self.limit}) is spent"
            )
        self._asked.add(key)

    def wrap(self, resolver: Resolver) -> Resolver:
        """A resolver that charges this budget before asking ``resolver``."""
        return _Budgeted(resolver, self)


class _Budgeted:
    """A :class:`Resolver` charging a :class:`QueryBudget` before each question."""

    def __init__(self, inner: Resolver, budget: QueryBudget) -> None:
        self.inner = inner
        self.budget = budget
        # Findings about the resolver (a public one for blocklists) need its servers.
        self.nameservers = getattr(inner, "nameservers", ())

    async def query(self, name: str, rdtype: str, /) -> DnsAnswer:
        self.budget.charge(name, rdtype)
        return await self.inner.query(name, rdtype)

    def serves(self, name: str, /) -> bool:
        """What the wrapped resolver says (see :meth:`ZoneResolver.serves`); True if it
        does not tell."""
        serves = getattr(self.inner, "serves", None)
        return bool(serves(name)) if serves is not None else True
