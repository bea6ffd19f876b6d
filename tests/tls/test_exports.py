"""``mailcheck.tls`` exports what its ``__all__`` says, lazily."""

from __future__ import annotations

import importlib

import mailcheck.tls


def test_all_names_resolve_and_are_sorted() -> None:
    assert mailcheck.tls.__all__ == sorted(mailcheck.tls.__all__)
    for name in mailcheck.tls.__all__:
        assert getattr(mailcheck.tls, name) is not None


def test_every_public_name_of_the_modules_is_reachable() -> None:
    # What the package exports lives where _WHERE says (no stale entry).
    for name in mailcheck.tls.__all__:
        value = getattr(mailcheck.tls, name)
        module = importlib.import_module(value.__module__)
        assert getattr(module, name) is value
