"""SMTP replies: parse, normalise and classify them (pure, no I/O).

Classification is layered: the provider's rules first (regex on the normalised one-line
reply), then the RFC 3463 enhanced status code table, then text heuristics, then the reply
code class. A per-recipient signal (``450 4.2.1 ... receiving mail too quickly``, mailbox
full) has scope ``recipient`` and never slows the provider.

:class:`Classification` is the one result type the Sender acts on. Replies are untrusted
text of up to a few KiB: their text is read by :mod:`~mailcheck.sending.reply_text`, at
most ``MAX_REPLY_CHARS`` of it, in time linear in its input (a hostile reply cannot stall
the event loop; ``bench/bench_replies.py`` measures it).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Sequence

from mailcheck.errors import ParseError
from mailcheck.sending.providers import Provider
from mailcheck.sending.reply_text import (
    MAX_REPLY_CHARS,
    mask_line,
    provider_code,
    retry_hint,
)
from mailcheck.sending.types import Action, Rate, Scope

__all__ = [
    "Category",
    "Classification",
    "SmtpReply",
    "classify_reply",
    "classify_text",
    "make_classifier",
    "normalize_reply",
    "parse_reply",
]

# RFC 5321 §4.2: "Reply-code = %x32-35 %x30-35 %x30-39" followed by SP or "-" on all lines
# but the last.
_LINE_RE = re.compile(r"^([2-5][0-9][0-9])(?:([ -])(.*))?$", re.DOTALL)
# RFC 3463 §2: "status-code = class "." subject "." detail", class 2/4/5, subject and detail
# up to three digits; read only right after the reply code.
_ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")


class Category(enum.StrEnum):
    """What a reply is about."""

    OK = "ok"
    RATE_LIMIT = "rate-limit"
    CONNECTIONS = "connections"
    BLOCKED = "blocked"
    AUTH = "auth"
    POLICY = "policy"
    CONTENT = "content"
    RECIPIENT = "recipient"
    MAILBOX_FULL = "mailbox-full"
    SERVER = "server"
    PROTOCOL = "protocol"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SmtpReply:
    """A parsed SMTP reply.

    Attributes:
        code: the three-digit reply code.
        enhanced: the RFC 3463 status code read right after the reply code, or None.
        lines: the text of each line, without reply code or leading enhanced code.
    """

    code: int
    enhanced: str | None
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The lines joined into one line."""
        return " ".join(line for line in self.lines if line)

    def to_text(self) -> str:
        """The reply as a server sends it (CRLF between lines)."""
        prefix = f"{self.enhanced} " if self.enhanced else ""
        last = len(self.lines) - 1
        return "\r\n".join(
            f"{self.code}{' ' if i == last else '-'}{prefix}{line}"
            for i, line in enumerate(self.lines)
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Classification:
    """What a reply means.

    Attributes:
        category: what it is about.
        scope: whom it judges.
        action: what to do.
        retry_after: seconds to wait (a rule's duration or the reply's "try again in N"), or None.
        rule: the rule that decided (``rfc3463:X.Y.Z``, ``text:NAME``, ``code:NXX`` or a
            provider rule name).
        provider_code: a provider's own code in the reply (``OFR004_104``, ``TSS04``, ``S3140``).
        normalized: the normalised one-line reply.
        threshold: the rule fires only past this rate of matches (counted by the caller).
        exit_after: successes after which a slow-down ends.
    """

    category: Category
    scope: Scope
    action: Action
    retry_after: float | None = None
    rule: str = ""
    provider_code: str | None = None
    normalized: str = ""
    threshold: Rate | None = None
    exit_after: int = 0

    @property
    def shapes(self) -> bool:
        """Whether it should change the provider budget (never for recipient/message)."""
        return self.scope.shapes and self.action in (
            Action.SLOW,
            Action.SUSPEND,
            Action.SUSPEND_TENANT,
        )


def parse_reply(reply: str | Sequence[str], /) -> SmtpReply:
    """Parse a (multi-line) reply given as one text or as lines.

    Lines after the first may lack the reply code (as clients hand the text over); a line
    that has one must repeat the first line's code (RFC 5321 §4.2.1).

    Raises:
        ParseError: no reply code, or lines with different codes.
    """
    raw = reply.splitlines() if isinstance(reply, str) else [str(x) for x in reply]
    lines = [line.rstrip("\r\n") for line in raw] or [""]
    first = _LINE_RE.match(lines[0])
    text = reply if isinstance(reply, str) else "\n".join(lines)
    if not first:
        raise ParseError(text, 0, "expected a three-digit reply code")
    code = first.group(1)
    enhanced: str | None = None
    body = (first.group(3) or "").strip()
    m = _ENHANCED_RE.match(body)
    if m and m.group(1) == code[0]:
        enhanced = m.group(0)
    texts: list[str] = []
    position = 0
    for line in lines:
        m_line = _LINE_RE.match(line)
        if m_line and m_line.group(1) != code:
            raise ParseError(text, position, "reply code differs between lines")
        part = (m_line.group(3) or "") if m_line else line
        part = part.strip()
        if enhanced and (part == enhanced or part.startswith(enhanced + " ")):
            part = part[len(enhanced) :].strip()
        texts.append(part)
        position += len(line) + 1
    return SmtpReply(code=int(code), enhanced=enhanced, lines=tuple(texts))


def normalize_reply(reply: SmtpReply | str, /) -> str:
    """One line with IPs, addresses, ids and numbers masked, so replies can be counted.

    The reply code, the enhanced status code and providers' codes are kept.
    """
    if isinstance(reply, SmtpReply):
        head = f"{reply.code} {reply.enhanced} " if reply.enhanced else f"{reply.code} "
        return mask_line(head + reply.text[:MAX_REPLY_CHARS])
    return mask_line(" ".join(reply[: MAX_REPLY_CHARS * 2].split()))


# Suspension length when neither a rule nor the reply says how long.
DEFAULT_SUSPEND = 3600.0

_R, _MF, _AU, _SV, _PR, _CT, _PO = (
    Category.RECIPIENT,
    Category.MAILBOX_FULL,
    Category.AUTH,
    Category.SERVER,
    Category.PROTOCOL,
    Category.CONTENT,
    Category.POLICY,
)
# RFC 3463 §3 subjects/details (plus RFC 7372 auth codes, 5.7.28 as Google uses it and
# Microsoft's 5.7.515): (subject, detail) -> category; a subject-only key covers the rest.
_RFC3463: dict[tuple[int, int | None], Category] = {
    (1, None): _R, (1, 7): _AU, (1, 8): _AU, (1, 5): Category.OK,
    (2, None): _R, (2, 2): _MF, (2, 3): _CT,
    (3, None): _SV, (3, 4): _CT,
    (4, None): _SV,
    (5, None): _PR,
    (6, None): _CT,
    (7, None): _PO, (7, 2): _PO, (7, 7): _CT, (7, 9): _PO, (7, 10): Category.CONNECTIONS,
    (7, 20): _AU, (7, 21): _AU, (7, 22): _AU, (7, 23): _AU, (7, 24): _AU, (7, 25): _AU,
    (7, 26): _AU, (7, 27): _AU, (7, 28): Category.RATE_LIMIT, (7, 29): _AU, (7, 30): _AU,
    (7, 32): _AU, (7, 40): _AU, (7, 515): _AU,
}  # fmt: skip
# "Other" and catch-all codes say little: the text may say more.
_WEAK = {(1, 0), (2, 0), (3, 0), (4, 0), (7, 0), (7, 1), (0, 0)}
_HEURISTICS: tuple[tuple[str, re.Pattern[str], Category], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE), category)
    for name, pattern, category in (
        ("recipient-rate", r"receiving (?:e-?mails?|mail|messages) (?:too quickly|too fast)", _R),
        ("mailbox-full", r"mailbox (?:is )?full|over ?quota|quota exceeded|bo[iî]te .{0,30}pleine"
         r"|insufficient (?:system )?storage", _MF),
        ("recipient", r"user unknown|unknown (?:user|recipient)|no such (?:user|mailbox|recipient)"
         r"|does ?n[o']t (?:exist|have an? .{0,40}account)|invalid recipient|destinataire invalide"
         r"|mailbox (?:is )?(?:disabled|unavailable|not found)|account (?:is )?disabled", _R),
        ("connections", r"too many (?:connections|concurrent)|trop de connexions"
         r"|maximum number of (?:connections|messages per connection)"
         r"|max(?:imum)? messages? per connection", Category.CONNECTIONS),
        ("blocked", r"block ?list|black ?list|\bblocked\b|spamhaus|cloudmark|proofpoint|\brbl\b"
         r"|banned|bloquee|too many spams|\blisted\b", Category.BLOCKED),
        ("rate", r"rate limit|too many (?:messages|mails|e-?mails)|too (?:much mail|quickly|fast)"
         r"|excessive volume|unexpected volume|unusual rate|slow down|temporarily deferred",
         Category.RATE_LIMIT),
        ("auth", r"\b(?:spf|dkim|dmarc)\b|authenticat|reverse dns|\bptr\b", _AU),
        ("greylist", r"gr[ae]y ?list", Category.TEMPORARY),
        ("content", r"spam|virus|malware|phish|unsolicited|content", _CT),
        ("policy", r"policy|refused|refuse\b|rejected|denied|not accepted", _PO),
        ("server", r"busy|overload|system problem|try again later|not available|temporar", _SV),
    )
)  # fmt: skip
_SCOPES = {
    Category.RECIPIENT: Scope.RECIPIENT,
    Category.MAILBOX_FULL: Scope.RECIPIENT,
    Category.AUTH: Scope.DOMAIN,
    Category.BLOCKED: Scope.IP,
    Category.RATE_LIMIT: Scope.IP,
    Category.CONNECTIONS: Scope.CONNECTION,
    Category.SERVER: Scope.CONNECTION,
}
_RULE_CATEGORIES = {
    Action.SLOW: Category.RATE_LIMIT,
    Action.SUSPEND: Category.BLOCKED,
    Action.SUSPEND_TENANT: Category.AUTH,
    Action.BOUNCE: Category.PERMANENT,
    Action.RETRY: Category.TEMPORARY,
    Action.OK: Category.OK,
}


def _action(category: Category, code: int) -> Action:
    """The default reaction to a category."""
    if category is Category.OK:
        return Action.OK
    if category in (Category.RATE_LIMIT, Category.CONNECTIONS):
        return Action.SLOW if code < 500 or category is Category.CONNECTIONS else Action.SUSPEND
    if category is Category.BLOCKED:
        return Action.SUSPEND
    if category is Category.AUTH:
        return Action.SUSPEND_TENANT
    return Action.BOUNCE if code >= 500 else Action.RETRY


def _table(reply: SmtpReply) -> tuple[Category | None, bool]:
    """The RFC 3463 category of the enhanced code, and whether it is a weak one."""
    if not reply.enhanced:
        return None, True
    _, subject, detail = (int(x) for x in reply.enhanced.split("."))
    found = _RFC3463.get((subject, detail)) or _RFC3463.get((subject, None))
    return found, (subject, detail) in _WEAK or found is None


def _generic(reply: SmtpReply, text: str) -> tuple[Category, str]:
    """Table, then heuristics, then the reply code class."""
    category, weak = _table(reply)
    if category is not None and not weak:
        return category, f"rfc3463:{reply.enhanced}"
    for name, pattern, found in _HEURISTICS:
        if pattern.search(text):
            return found, f"text:{name}"
    if category is not None:
        return category, f"rfc3463:{reply.enhanced}"
    if reply.code == 421:
        return Category.SERVER, "code:421"
    if reply.code >= 500:
        return Category.PERMANENT, f"code:{reply.code // 100}xx"
    return Category.TEMPORARY, f"code:{reply.code // 100}xx"


def classify_reply(reply: SmtpReply, provider: Provider | None = None) -> Classification:
    """Classify a reply: provider rules, then RFC 3463, then text heuristics.

    Args:
        reply: the parsed reply.
        provider: the destination's provider; its rules are tried first, and with
            ``last_line_decides`` (GMX) only the last line is read.
    """
    normalized = normalize_reply(reply)
    pcode = provider_code(reply.text[:MAX_REPLY_CHARS])
    hint = retry_hint(reply.text)
    if reply.code < 400:
        ok = Category.OK
        return Classification(
            category=ok, scope=Scope.MESSAGE, action=Action.OK, rule="code:ok",
            provider_code=pcode, normalized=normalized,
        )  # fmt: skip
    text = normalized
    if provider is not None and provider.last_line_decides and reply.lines:
        last = SmtpReply(code=reply.code, enhanced=reply.enhanced, lines=reply.lines[-1:])
        text = normalize_reply(last)
    for rule in provider.rules if provider is not None else ():
        if rule.pattern.search(text):
            category = Category(rule.category) if rule.category else _RULE_CATEGORIES[rule.action]
            return Classification(
                category=category, scope=rule.scope, action=rule.action,
                retry_after=hint or rule.duration or _default_wait(rule.action),
                rule=rule.name, provider_code=pcode, normalized=normalized,
                threshold=rule.threshold, exit_after=rule.exit_after,
            )  # fmt: skip
    category, name = _generic(reply, text)
    action = _action(category, reply.code)
    return Classification(
        category=category, scope=_SCOPES.get(category, Scope.MESSAGE), action=action,
        retry_after=hint or _default_wait(action), rule=name, provider_code=pcode,
        normalized=normalized,
    )  # fmt: skip


def _default_wait(action: Action) -> float | None:
    """How long a suspension lasts when nothing says."""
    return DEFAULT_SUSPEND if action in (Action.SUSPEND, Action.SUSPEND_TENANT) else None


def classify_text(code: int, text: str, provider: Provider | None = None, /) -> Classification:
    """Classify a reply given as its code and text (as an SMTP client hands them over)."""
    try:
        reply = parse_reply(f"{code} {text[: MAX_REPLY_CHARS * 2]}")
    except ParseError:
        reply = SmtpReply(code=code, enhanced=None, lines=(" ".join(text.split()),))
    return classify_reply(reply, provider)


def make_classifier(*providers: Provider) -> Callable[[int, str], Classification]:
    """A ``Sender(classify=...)`` callable trying the rules of ``providers`` in order.

    The Sender does not say which provider answered; the provider codes are distinctive
    enough for the rules of all providers to be tried on every reply.
    """
    merged = Provider(name="merged", rules=tuple(r for p in providers for r in p.rules))

    def classify(code: int, text: str) -> Classification:
        return classify_text(code, text, merged)

    return classify
