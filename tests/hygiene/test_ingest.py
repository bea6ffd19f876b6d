"""Acting on what comes back, against a real spool: verified reports suppress the spool's
address; unverified ones (a forged bounce) suppress nothing."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailcheck.errors import ConfigError
from mailcheck.hygiene.bounce_kind import bounce_kind
from mailcheck.hygiene.inbound_types import BounceKind
from mailcheck.hygiene.ingest import ActionKind, BounceIngest
from mailcheck.hygiene.rates import SoftBouncePolicy
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.tokens import unsubscribe_headers, verp_address
from mailcheck.hygiene.types import SuppressionReason, SuppressionScope
from mailcheck.sending.spool import SqliteSpool
from tests.hygiene.ingest_helpers import BOUNCE_DOMAIN, SECRET, arf, dsn

MEMBERS = ("ana@mailbox.example", "bob@mailbox.example", "cy@mailbox.example")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def newsletter(spool: SqliteSpool, members: tuple[str, ...] = MEMBERS) -> dict[str, int]:
    """Submit one newsletter; the spool's recipient id of each member."""
    submitted = await spool.submit_checked(
        b"Subject: news\r\n\r\nnews\r\n",
        mail_from=f"news@{BOUNCE_DOMAIN}",
        rcpt_to=members,
        tenant="asso",
        list_id="asso/news",
    )
    rows = await spool.list(limit=10_000)
    return {r.rcpt: r.id for r in rows if r.message_id == submitted.message_id}


@pytest.fixture
def suppressions(tmp_path: Path) -> SuppressionList:
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=Clock())
    return SuppressionList(spool, soft_bounces=SoftBouncePolicy(count=2))


async def test_verified_hard_bounce_suppresses_the_spool_address(
    suppressions: SuppressionList,
) -> None:
    ids = await newsletter(suppressions.spool)
    ingest = BounceIngest(suppressions, secret=SECRET)
    # The report names another address (a forwarder's): the spool's address is suppressed.
    result = await ingest.ingest(dsn(ids["ana@mailbox.example"], "ana@forward.example"),
                                 source="dsn-1")  # fmt: skip
    (action,) = result.actions
    assert (action.kind, action.reason) == (ActionKind.SUPPRESSED, SuppressionReason.HARD_BOUNCE)
    assert (action.address, action.tenant) == ("ana@mailbox.example", "asso")
    found = await suppressions.get("ana@mailbox.example")
    assert found is not None
    assert (found.scope, found.reason) == (SuppressionScope.GLOBAL, SuppressionReason.HARD_BOUNCE)
    assert "5.1.1" in found.source
    assert not await suppressions.is_suppressed("ana@forward.example")
    # The next newsletter does not queue her.
    again = await suppressions.spool.submit_checked(
        b"Subject: news 2\r\n\r\n", mail_from=f"news@{BOUNCE_DOMAIN}", rcpt_to=MEMBERS,
        tenant="asso", list_id="asso/news",
    )  # fmt: skip
    assert [r for r, _ in again.suppressed] == ["ana@mailbox.example"]
    assert result.to_dict()["actions"][0]["kind"] == "suppressed"


async def test_forged_bounce_suppresses_nothing(suppressions: SuppressionList) -> None:
    ids = await newsletter(suppressions.spool)
    good = verp_address(ids["bob@mailbox.example"], domain=BOUNCE_DOMAIN, secret=SECRET)
    forged_paths = [
        good[:10] + ("b" if good[10] != "b" else "c") + good[11:],  # one character changed
        verp_address(ids["bob@mailbox.example"], domain=BOUNCE_DOMAIN, secret=b"x" * 32),
        f"bounces@{BOUNCE_DOMAIN}",  # no token at all
    ]
    ingest = BounceIngest(suppressions, secret=SECRET)
    for n, path in enumerate(forged_paths):
        result = await ingest.ingest(dsn(None, "bob@mailbox.example", return_path=path,
                                         serial=n), source=f"forged-{n}")  # fmt: skip
        (action,) = result.actions
        assert action.kind is ActionKind.UNVERIFIED
        assert action.recipient_id is None
        assert action.address == "bob@mailbox.example"  # shown, not acted on
    assert (await suppressions.counts())["total"] == 0


async def test_soft_bounces_count_then_suppress(suppressions: SuppressionList) -> None:
    ingest = BounceIngest(suppressions, secret=SECRET)
    kinds = []
    for n in range(2):  # two newsletters, each soft-bounced (policy: 2 distinct messages)
        ids = await newsletter(suppressions.spool)
        raw = dsn(
            ids["cy@mailbox.example"],
            "cy@mailbox.example",
            status="4.2.2",
            action="delayed",
            diagnostic="smtp; 452 4.2.2 Mailbox full",
            serial=n,
        )
        (action,) = (await ingest.ingest(raw, source=f"soft-{n}")).actions
        kinds.append((action.kind, action.reason))
    assert kinds == [
        (ActionKind.COUNTED, None),
        (ActionKind.SUPPRESSED, SuppressionReason.SOFT_BOUNCE_LIMIT),
    ]
    found = await suppressions.get("cy@mailbox.example")
    assert found is not None
    assert found.expires is not None  # a full mailbox may be emptied: it expires


async def test_policy_refusal_is_no_action(suppressions: SuppressionList) -> None:
    ids = await newsletter(suppressions.spool)
    raw = dsn(ids["ana@mailbox.example"], "ana@mailbox.example", status="5.7.1",
              diagnostic="smtp; 550 5.7.1 Message rejected as spam")  # fmt: skip
    (action,) = (await BounceIngest(suppressions, secret=SECRET).ingest(raw, source="p")).actions
    assert action.kind is ActionKind.NO_ACTION
    assert (await suppressions.counts())["total"] == 0


@pytest.mark.parametrize(
    "sample", ["arf-yahoo-cfl.eml", "arf-microsoft-jmrp.eml", "arf-rfc5965.eml"]
)
async def test_verified_complaint_suppresses_for_the_tenant(
    suppressions: SuppressionList, sample: str
) -> None:
    ids = await newsletter(suppressions.spool)
    ingest = BounceIngest(suppressions, secret=SECRET)
    result = await ingest.ingest(arf(sample, ids["bob@mailbox.example"]), source=sample)
    (action,) = result.actions
    assert (action.kind, action.reason) == (ActionKind.SUPPRESSED, SuppressionReason.COMPLAINT)
    assert (action.address, action.tenant) == ("bob@mailbox.example", "asso")
    found = await suppressions.get("bob@mailbox.example", tenant="asso")
    assert found is not None
    assert found.scope is SuppressionScope.TENANT
    # The same report ingested twice is one complaint; so is a second report about the
    # same copy with another Message-ID (the recipient holds the token of their copy: they
    # must not be able to count many times and pause the tenant).
    raw = arf(sample, ids["bob@mailbox.example"])
    await ingest.ingest(raw, source=sample)
    await ingest.ingest(raw.replace(b"Message-ID: <", b"Message-ID: <again-"), source=sample)
    rates = await suppressions.rates()
    assert rates["tenants"]["asso"].complaints == 1


async def test_unverified_complaint_suppresses_nothing(suppressions: SuppressionList) -> None:
    await newsletter(suppressions.spool)
    ingest = BounceIngest(suppressions, secret=b"another-secret-for-tests-9876543")
    (action,) = (await ingest.ingest(arf("arf-yahoo-cfl.eml", 1), source="cfl")).actions
    assert action.kind is ActionKind.UNVERIFIED
    assert (await suppressions.counts())["total"] == 0


async def test_verified_token_of_a_purged_recipient(suppressions: SuppressionList) -> None:
    ingest = BounceIngest(suppressions, secret=SECRET)
    (action,) = (await ingest.ingest(dsn(999_999, "x@mailbox.example"), source="old")).actions
    assert (action.kind, action.recipient_id) == (ActionKind.UNKNOWN_RECIPIENT, 999_999)
    (complaint,) = (await ingest.ingest(arf("arf-rfc5965.eml", 999_999), source="o")).actions
    assert complaint.kind is ActionKind.UNKNOWN_RECIPIENT


async def test_mailto_unsubscribe_suppresses_for_the_list(suppressions: SuppressionList) -> None:
    now = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
    (_, value), _ = unsubscribe_headers(
        "ana@mailbox.example", list="asso/news", secret=SECRET,
        url="https://panel.example.org/u", mailto=f"unsubscribe@{BOUNCE_DOMAIN}", now=now,
    )  # fmt: skip
    token = value.rsplit("%20", 1)[1].rstrip(">")
    message = EmailMessage()
    message["From"] = "somebody-else@elsewhere.example"  # who sends it does not matter
    message["To"] = f"unsubscribe@{BOUNCE_DOMAIN}"
    message["Subject"] = f"unsubscribe {token}"
    message.set_content("")
    ingest = BounceIngest(suppressions, secret=SECRET, now=now)
    (action,) = (await ingest.ingest(bytes(message), source="u")).actions
    assert (action.kind, action.reason) == (ActionKind.SUPPRESSED, SuppressionReason.UNSUBSCRIBE)
    assert await suppressions.is_suppressed("ana@mailbox.example", list="asso/news")
    assert not await suppressions.is_suppressed("ana@mailbox.example", list="asso/other")


async def test_unreadable_message_is_reported_not_raised(suppressions: SuppressionList) -> None:
    result = await BounceIngest(suppressions, secret=SECRET).ingest(b"\x00\x01", source="junk")
    assert result.inbound is None
    assert result.error is not None
    assert result.error.startswith("not-a-message")


def test_bad_secret_is_refused_at_construction(tmp_path: Path) -> None:
    spool = SqliteSpool(str(tmp_path / "q.db"))
    with pytest.raises(ConfigError):
        BounceIngest(SuppressionList(spool), secret=b"short")


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", None, BounceKind.HARD),
        ("5.1.10", None, BounceKind.HARD),
        ("4.2.2", None, BounceKind.SOFT),
        ("5.7.1", "550 5.7.1 spam", BounceKind.UNKNOWN),
        (None, "550 No such user here", BounceKind.HARD),
        (None, "smtp says no", BounceKind.UNKNOWN),
        (None, None, BounceKind.UNKNOWN),
    ],
)
def test_bounce_kind(status: str | None, diagnostic: str | None, kind: BounceKind) -> None:
    assert bounce_kind(status, diagnostic) is kind
