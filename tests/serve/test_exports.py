"""The public names of mailcheck.serve and mailcheck.locale: importable and documented."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["mailcheck.serve", "mailcheck.locale"])
def test_all_is_sorted_and_every_name_resolves_with_a_docstring(name: str) -> None:
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__)  # the order: ruff's RUF022
    for export in module.__all__:
        value = getattr(module, export)
        if callable(value):
            assert value.__doc__, f"{name}.{export} has no docstring"
