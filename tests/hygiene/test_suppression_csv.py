"""CSV import and export of the suppression list; hypothesis on the untrusted CSV and on
address normalisation."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.errors import AddressError, ConfigError
from mailcheck.hygiene.csvio import MAX_CSV_BYTES, parse_csv
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.types import address_key, normalize_address
from mailcheck.sending.spool import SqliteSpool
from tests.hygiene.test_suppression import Clock

CSV = (
    "address,scope,scope_value,reason,source,created,expires\r\n"
    "jo@example.org,global,,hard-bounce,550 5.1.1,2026-12-01T10:00:00+00:00,\r\n"
    "Al@Example.ORG,tenant,asso.example,complaint,arf 7,,\r\n"
    "bo@example.org,list,asso.example/news,unsubscribe,,,1900000000\r\n"
    "not an address,,,,,,\r\n"
    "x@example.org,planet,,manual,,,\r\n"
    "y@example.org,,,,,yesterday,\r\n"
    "'=cmd@example.org,,,,,,\r\n"
)


def make(path: Path) -> SuppressionList:
    return SuppressionList(SqliteSpool(str(path / "q.db"), clock=Clock()))


async def test_import_counts_and_names_bad_rows(tmp_path: Path) -> None:
    sl = make(tmp_path)
    result = await sl.import_csv(CSV)
    assert (result.added, result.rejected) == (4, 3)
    assert [line for line, _ in result.errors] == [5, 6, 7]
    assert "planet" in result.errors[1][1]
    jo = await sl.get("jo@example.org")
    assert jo is not None
    assert jo.created == 1796119200.0
    assert jo.source == "550 5.1.1"
    assert await sl.is_suppressed("al@example.org", tenant="asso.example")
    bo = await sl.get("bo@example.org", list="asso.example/news")
    assert bo is not None
    assert bo.expires == 1900000000.0
    cmd = await sl.get("=cmd@example.org")  # the spreadsheet escape is read back
    assert cmd is not None
    assert cmd.reason == "manual"
    assert cmd.source == ""


async def test_a_bare_list_of_addresses(tmp_path: Path) -> None:
    sl = make(tmp_path)
    result = await sl.import_csv("a@example.org\nb@example.org\n\n", reason="unsubscribe")
    assert result.added == 2
    entry = await sl.get("b@example.org")
    assert entry is not None
    assert entry.reason == "unsubscribe"
    assert entry.source == "csv import"  # no source column: the default


async def test_refused_files(tmp_path: Path) -> None:
    sl = make(tmp_path)
    with pytest.raises(ConfigError, match="no address column"):
        await sl.import_csv("email,reason\na@example.org,manual\n")
    with pytest.raises(ConfigError, match="larger than"):
        await sl.import_csv("a" * (MAX_CSV_BYTES + 1))
    with pytest.raises(ConfigError, match="line"):
        await sl.import_csv('address\n"a@example.org\n')  # unterminated quote


async def test_export_escapes_formulas_and_round_trips(tmp_path: Path) -> None:
    sl = make(tmp_path)
    await sl.import_csv(CSV)
    await sl.add("z@example.org", reason="manual", source='=HYPERLINK("http://x")')
    out = io.StringIO()
    assert await sl.export_csv(out) == 5
    text = out.getvalue()
    assert "\"'=HYPERLINK" in text
    assert "\r\n'=cmd@example.org," in text
    other = SuppressionList(SqliteSpool(str(tmp_path / "other.db"), clock=Clock()))
    assert (await other.import_csv(text)).rejected == 0
    assert [e for _, e in await other.list()] == [e for _, e in await sl.list()]


_ATEXT = st.text(alphabet=st.sampled_from("abcXYZ019!#$%&'*+/=?^_`{|}~-"), min_size=1, max_size=12)
_LABEL = st.text(alphabet=st.sampled_from("abcxyz019-"), min_size=1, max_size=10).filter(
    lambda s: not s.startswith("-") and not s.endswith("-")
)
_ADDRESS = st.builds(
    lambda local, labels, upper: f"{local}@{'.'.join(labels)}".upper() if upper
    else f"{local}@{'.'.join(labels)}",
    _ATEXT, st.lists(_LABEL, min_size=1, max_size=3), st.booleans(),
)  # fmt: skip


@given(_ADDRESS)
def test_normalisation_is_idempotent_and_case_blind_in_the_key(address: str) -> None:
    normal = normalize_address(address)
    assert normalize_address(normal) == normal
    assert normal.rpartition("@")[0] == address.rpartition("@")[0]  # the local part as given
    assert address_key(address) == address_key(address.swapcase()) == address_key(normal)


@given(st.text(max_size=80))
def test_normalisation_raises_only_address_errors(text: str) -> None:
    try:
        normal = normalize_address(text)
    except AddressError:
        return
    assert normalize_address(normal) == normal


@given(st.text(max_size=400))
def test_parse_csv_never_crashes(text: str) -> None:
    try:
        rows = list(parse_csv(text))
    except ConfigError:
        return
    for row in rows:
        assert isinstance(row, tuple) or isinstance(row.address, str)


_SOURCE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60
).map(lambda s: " ".join(s.split()))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_ADDRESS, _SOURCE), max_size=8))
async def test_export_then_import_gives_the_same_list(rows: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first = SuppressionList(SqliteSpool(tmp + "/a.db", clock=Clock()))
        second = SuppressionList(SqliteSpool(tmp + "/b.db", clock=Clock()))
        for address, source in rows:
            await first.add(address, reason="manual", source=source)
        out = io.StringIO()
        await first.export_csv(out)
        result = await second.import_csv(out.getvalue())
        assert result.rejected == 0
        assert [e for _, e in await second.list()] == [e for _, e in await first.list()]
        first.spool.close()
        second.spool.close()
