"""PEP 562 lazy exports: a package names what it exports and where each name lives; the
module is imported the first time the name is used.

``import mailcheck`` then costs a few milliseconds: DNS, dkimpy and pyspf load only when
a check that needs them runs (``mailcheck --version`` stays instant).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, given ``{name: module}``.

    A name is looked up in its module on first use, then kept in the package's namespace
    (later uses cost nothing).
    """

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return getattr_, dir_
