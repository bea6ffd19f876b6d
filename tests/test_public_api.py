"""The public API: ``__all__`` is sorted, complete and importable."""

from __future__ import annotations

import importlib

import pytest

import mailcheck

PACKAGES = [
    "mailcheck",
    "mailcheck.dkim",
    "mailcheck.dmarc",
    "mailcheck.lookup",
    "mailcheck.reputation",
    "mailcheck.sending",
    "mailcheck.spf",
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
