"""The catalogue of known services: matching by include and PTR suffix; a bad file is a
ConfigError, whatever its content (hypothesis)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.errors import ConfigError
from mailcheck.reports.services import load_services, parse_services


def test_builtin_catalogue_names_services_and_lists() -> None:
    catalogue = load_services()
    brevo = catalogue.by_include("spf.brevo.com")
    assert brevo is not None
    assert brevo.name == "Brevo"
    assert brevo.source
    assert catalogue.by_include("SPF.Brevo.com.") == brevo
    assert catalogue.by_include("notbrevo.com") is None
    assert catalogue.by_include("x.spf.protection.outlook.com").name == "Microsoft 365"  # type: ignore[union-attr]
    assert catalogue.by_rdns("o1.ptr.sendinblue.com").name == "Brevo"  # type: ignore[union-attr]
    assert catalogue.forwarder("lists.example.org").name == "a list server"  # type: ignore[union-attr]
    assert catalogue.forwarder("mx1.lists-out.example.org") is None
    assert catalogue.forwarder("smtp.framalistes.org").name == "Framalistes"  # type: ignore[union-attr]
    for service in catalogue.services:
        assert service.includes
        assert service.source


def test_a_file_of_ours_comes_first(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('[[service]]\nname = "Our CRM"\nincludes = ["spf.brevo.com"]\nsource = "us"\n')
    assert load_services(mine).by_include("spf.brevo.com").name == "Our CRM"  # type: ignore[union-attr]
    with pytest.raises(ConfigError):
        load_services(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    "text",
    ['service = "x"', "service = [1, 2]", "[service]\nname = 'x'", "[[service]]\nincludes = []"],
)
def test_malformed_catalogues(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_services(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_services(text)


@given(
    st.dictionaries(
        st.sampled_from(["name", "includes", "rdns", "labels", "source"]),
        st.one_of(
            st.text(max_size=5),
            st.integers(),
            st.lists(st.text(max_size=5), max_size=3),
            st.lists(st.integers(), max_size=2),
        ),
    ),
    st.sampled_from(["service", "forwarder"]),
)
def test_any_entry_parses_or_is_a_config_error(entry: dict, kind: str) -> None:
    import json

    lines = [f"[[{kind}]]"] + [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
    with contextlib.suppress(ConfigError):
        parse_services("\n".join(lines))
