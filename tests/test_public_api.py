"""The public API: ``__all__`` is sorted, complete and importable."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest

import mailcheck
import mailcheck.reputation
import mailcheck.sync

PACKAGES = [
    "mailcheck",
    "mailcheck.dkim",
    "mailcheck.dmarc",
    "mailcheck.hygiene",
    "mailcheck.lint",
    "mailcheck.lists",
    "mailcheck.locale",
    "mailcheck.lookup",
    "mailcheck.mailbox",
    "mailcheck.reports",
    "mailcheck.reputation",
    "mailcheck.sending",
    "mailcheck.serve",
    "mailcheck.spf",
    "mailcheck.sync_more",
    "mailcheck.tls",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    # isort style (ruff RUF022): CONSTANTS, then Classes, then functions, each sorted.
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    for attr in exported:
        assert hasattr(module, attr), f"{name}.{attr}"


def test_public_names_are_in_all() -> None:
    public = {
        n
        for n, v in vars(mailcheck).items()
        if not n.startswith("_") and not getattr(v, "__name__", "").startswith("mailcheck.")
    }
    modules = {n for n, v in vars(mailcheck).items() if type(v).__name__ == "module"}
    assert public - modules - {"annotations"} <= set(mailcheck.__all__)


# --- blocking twins -----------------------------------------------------------------------

# The sender has its own loop; serve has no coroutines (and needs the serve extra).
TWINNED = [p for p in PACKAGES if p not in {"mailcheck.sending", "mailcheck.serve"}]


def _coroutines() -> list[tuple[str, str]]:
    found = []
    for package in TWINNED:
        module = importlib.import_module(package)
        for name in module.__all__:
            if inspect.iscoroutinefunction(getattr(module, name)):
                found.append((package, name))
    return found


@pytest.mark.parametrize(("package", "name"), _coroutines())
def test_every_public_coroutine_has_a_typed_twin(package: str, name: str) -> None:
    module = importlib.import_module(package)
    coroutine = getattr(module, name)
    twin = getattr(mailcheck.sync, f"{name}_sync")
    assert f"{name}_sync" in module.__all__, f"{package} exports {name} but not its twin"
    assert getattr(module, f"{name}_sync") is twin
    ours, theirs = inspect.signature(twin), inspect.signature(coroutine)
    assert list(ours.parameters.values()) == list(theirs.parameters.values())
    assert ours.return_annotation == theirs.return_annotation
    assert twin.__doc__


def test_the_twins_kept_apart_are_found_in_mailcheck_sync() -> None:
    # mailcheck.sync_more holds the later packages' twins; mailcheck.sync names each one.
    more = importlib.import_module("mailcheck.sync_more")
    for name in more.__all__:
        assert name in dir(mailcheck.sync), name
        assert getattr(mailcheck.sync, name) is getattr(more, name)
    with pytest.raises(AttributeError):
        getattr(mailcheck.sync, "no_such_sync")  # noqa: B009


async def test_a_twin_inside_a_running_loop_says_to_await() -> None:
    with pytest.raises(mailcheck.SyncCallError, match=r"await check_ip\(") as caught:
        mailcheck.check_ip_sync("192.0.2.1", resolver=mailcheck.ZoneResolver([]))
    assert isinstance(caught.value, RuntimeError)


async def test_a_twin_refused_in_a_loop_closes_the_awaitable_it_was_given() -> None:
    async def hosts() -> list[tuple[str, list[str]]]:
        return []

    pending = hosts()
    with pytest.raises(mailcheck.SyncCallError, match=r"await audit_transport\("):
        mailcheck.sync.audit_transport_sync(
            "example.org", resolver=mailcheck.ZoneResolver([]), hosts=pending
        )
    assert inspect.getcoroutinestate(pending) == inspect.CORO_CLOSED


def test_a_twin_runs_without_a_loop() -> None:
    zones = Path(__file__).resolve().parent.parent / "examples" / "zones"
    resolver = mailcheck.ZoneResolver([zones / "2.0.192.in-addr.arpa.zone"])
    report = mailcheck.check_ip_sync(
        "192.0.2.30", resolver=resolver, catalogue=mailcheck.reputation.parse_catalogue("")
    )
    assert report.ptr_names


# --- the packaged report schema --------------------------------------------------------------


def test_report_schema_is_packaged_and_equals_the_docs_copy() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"
    assert mailcheck.report_schema() == json.loads(docs.read_text()), (
        "src/mailcheck/report.schema.json (shipped) and docs/report.schema.json must be "
        "equal: copy the one you edited over the other"
    )
    assert mailcheck.report_schema()["title"] == "mailcheck domain report"
