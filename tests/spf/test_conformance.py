"""The openspf RFC 7208 test suite, every scenario through check_host() and a real DNS server.

The suite (``test/rfc7208-tests.yml`` in the pyspf sdist) is fetched from the
package index at test time into ``.cache/`` (gitignored), never committed.
Each scenario's zonedata is served by a dedicated DNS test server; a scenario
that does not pass must be listed, with its reason, in ``known_disagreements.toml``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.zone
import pytest
import yaml

from mailcheck import DnsResolver
from mailcheck.lookup import ZoneSet
from mailcheck.spf import check_host
from tests.dnsserver import DnsTestServer

PYSPF = "pyspf==2.0.14"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "spf-suite"
SUITE = "pyspf-2.0.14/test/rfc7208-tests.yml"
KNOWN = tomllib.loads((Path(__file__).parent / "known_disagreements.toml").read_text())


def _suite_path() -> Path:
    target = CACHE / "rfc7208-tests.yml"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    sdist = CACHE / "pyspf-2.0.14.tar.gz"
    if not sdist.exists():
        command = [sys.executable, "-m", "pip", "download", PYSPF, "--no-deps"]
        command += ["--no-binary", ":all:", "-d", str(CACHE), "-q"]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(SUITE)
        assert member is not None
        target.write_bytes(member.read())
    return target


def _scenarios() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(_suite_path().read_text()) if doc]


class SuiteServer(DnsTestServer):
    """The test server, plus the suite's TIMEOUT entries: SERVFAIL for the types not listed
    before the TIMEOUT marker of a name (as the suite's own driver does)."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: dict[str, frozenset[str]] = {}

    async def answer(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
            question = query.question[0]
        except (dns.exception.DNSException, IndexError):
            return None
        name = question.name.to_text(omit_final_dot=True).lower()
        allowed = self.timeouts.get(name)
        failing = name.startswith("error.") and self.zoneset.lookup(question.name, 1) is None
        if failing or (
            allowed is not None and dns.rdatatype.to_text(question.rdtype) not in allowed
        ):
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        return await super().answer(wire, transport)


def _bytes(text: str) -> bytes:
    # The suite writes raw bytes as "\xEF"; code points above 255 are UTF-8.
    return b"".join(bytes([ord(ch)]) if ord(ch) < 256 else ch.encode("utf-8") for ch in str(text))


def _rdata(rdtype: str, value: Any) -> dns.rdata.Rdata:
    kind = dns.rdatatype.from_text(rdtype)
    if rdtype in ("TXT", "SPF"):
        strings = value if isinstance(value, list) else [value]
        cls = dns.rdtypes.ANY.TXT.TXT if rdtype == "TXT" else dns.rdtypes.ANY.SPF.SPF
        return cls(dns.rdataclass.IN, kind, [_bytes(s) for s in strings] or [b""])
    if rdtype == "MX":
        text = f"{value[0]} {value[1] or '.'}"
        if not text.endswith("."):
            text += "."
    elif rdtype in ("PTR", "CNAME"):
        text = str(value).rstrip(".") + "."
    else:
        text = str(value)
    return dns.rdata.from_text(
        dns.rdataclass.IN, kind, text, origin=dns.name.root, relativize=False
    )


def _build(zonedata: dict[str, list[Any]]) -> tuple[dns.zone.Zone, dict[str, frozenset[str]]]:
    zone = dns.zone.Zone(dns.name.root, relativize=False)
    timeouts: dict[str, frozenset[str]] = {}
    for owner, entries in zonedata.items():
        name = owner.lower().rstrip(".")
        records: list[tuple[str, Any]] = []
        seen: list[str] = []
        for entry in entries:
            if entry == "TIMEOUT":
                timeouts[name] = frozenset(seen)
                break
            ((rdtype, value),) = entry.items()
            if value != "NONE":
                seen.append(rdtype)
            records.append((rdtype, value))
        if not any(t == "TXT" for t, _ in records):
            records += [("TXT", v) for t, v in records if t == "SPF"]
            seen += ["TXT"] if "SPF" in seen else []
            if name in timeouts:
                timeouts[name] = frozenset(seen)
        try:
            node_name = dns.name.from_text(name, origin=dns.name.root)
            node = zone.find_node(node_name, create=True)
        except dns.exception.DNSException:
            continue  # a name DNS cannot carry (a label over 63 bytes): never asked
        for rdtype, value in records:
            if value == "NONE":
                continue
            rdata = _rdata(rdtype, value)
            rdataset = node.find_rdataset(dns.rdataclass.IN, rdata.rdtype, create=True)
            rdataset.add(rdata, 300)
    return zone, timeouts


def _cases() -> Iterator[Any]:
    for scenario in _scenarios():
        for test_id, test in scenario["tests"].items():
            yield pytest.param(scenario, test, id=test_id)


@pytest.fixture(scope="module")
def suite_server() -> Iterator[SuiteServer]:
    server = SuiteServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize(("scenario", "test"), list(_cases()))
async def test_rfc7208_scenario(
    suite_server: SuiteServer, scenario: dict[str, Any], test: dict[str, Any], request: Any
) -> None:
    zone, timeouts = _build(scenario.get("zonedata") or {})
    suite_server.zoneset = ZoneSet((zone,))
    suite_server.timeouts = timeouts
    resolver = DnsResolver([suite_server.address], timeout=1.0)
    evaluation = await asyncio.wait_for(
        check_host(test["host"], test["mailfrom"], helo=test.get("helo"), resolver=resolver),
        timeout=30,
    )
    expected = test["result"] if isinstance(test["result"], list) else [test["result"]]
    got: list[Any] = [str(evaluation.result)]
    want: list[Any] = [expected]
    explanation = test.get("explanation")
    if explanation not in (None, "DEFAULT") and evaluation.result == "fail":
        got.append(evaluation.explanation)
        want.append(explanation)
    agrees = got[0] in expected and got[1:] == want[1:]
    test_id = request.node.callspec.id
    if test_id in KNOWN:
        assert not agrees, f"{test_id} passes now: remove it from known_disagreements.toml"
        return
    assert agrees, (got, want)
