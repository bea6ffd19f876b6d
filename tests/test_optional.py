"""An optional dependency that is missing is one clear line naming the extra."""

from __future__ import annotations

import pytest

from mailcheck._optional import require
from mailcheck.errors import ConfigError


def test_a_missing_extra_names_what_to_install() -> None:
    with pytest.raises(ConfigError) as caught:
        require("mailcheck_no_such_module.sub", "serve")
    assert str(caught.value) == (
        "this needs mailcheck_no_such_module.sub (not installed): "
        "pip install 'mailcheck[serve]' or install mailcheck_no_such_module from your "
        "distribution"
    )


def test_an_installed_one_is_the_module() -> None:
    assert require("flufl.bounce", "bounces").__name__ == "flufl.bounce"
