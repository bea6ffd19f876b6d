"""``mailcheck lint`` with hostile arguments and files: never a traceback, exit 0 to 3."""

from __future__ import annotations

from tests.cli.hostile import DOWN, hostile_argument_tests

TEMPLATES: dict[str, list[str]] = {
    "ip": ["lint", "F", "--ip", "V", "--mail-from", "V", "--profile", "all", *DOWN],
    "profile": ["lint", "F", "--profile", "V", "--offline"],
    "profiles-file": ["lint", "F", "--profiles-file", "F", "--profile", "V", "--offline"],
    "json": ["lint", "F", "--mail-from", "V", "--offline", "--format", "json"],
    "zone": ["lint", "F", "--zone", "F", "--ip", "V"],
}
FAST = [
    (name, value, file)
    for name in TEMPLATES
    for value, file in (
        ("\x00", "binary"),
        ("192.0.2.1", "garbage"),
        ("", "empty"),
        ("999999999999999999999", "directory"),
    )
]


test_hostile_arguments_table, test_hostile_arguments_fuzz = hostile_argument_tests(
    TEMPLATES, FAST, max_examples=150
)
