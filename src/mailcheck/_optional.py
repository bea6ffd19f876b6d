"""Optional dependencies (the extras of ``pyproject.toml``), imported with a clear error.

Without the extra, the command that needs it says what to install in one line, instead of
an ``internal error: ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mailcheck.errors import ConfigError

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, provided by the ``extra`` of mailcheck.

    Raises:
        ConfigError: the module is not installed (the message names the extra).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise ConfigError(
            f"this needs {module} (not installed): pip install 'mailcheck[{extra}]' "
            f"or install {package} from your distribution"
        ) from None
