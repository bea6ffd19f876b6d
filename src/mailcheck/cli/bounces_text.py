"""What ``mailcheck bounces ingest`` prints: one block per message and a summary line
(text), or everything (JSON). Text from the messages is printed without control
characters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailcheck.cli.common import print_json
from mailcheck.cli.spool import clean

if TYPE_CHECKING:
    from mailcheck.hygiene.ingest import IngestResult

__all__ = ["one_line", "render"]


def one_line(text: str) -> str:
    """Untrusted text on one line, without control characters."""
    return " ".join(clean(text).split())


def _tally(results: list[IngestResult]) -> dict[str, int]:
    counts: dict[str, int] = {"messages": len(results), "unreadable": 0}
    for result in results:
        if result.error:
            counts["unreadable"] += 1
            continue
        if result.inbound is not None:
            kind = f"kind:{result.inbound.kind}"
            counts[kind] = counts.get(kind, 0) + 1
        for action in result.actions:
            key = f"action:{action.kind}" + (f":{action.reason}" if action.reason else "")
            counts[key] = counts.get(key, 0) + 1
    return counts


def render(fmt: str, results: list[IngestResult], stopped: str) -> None:
    """Print the results (``stopped``: why the IMAP mailbox stopped, or ``""``)."""
    counts = _tally(results)
    if fmt == "json":
        print_json(
            {
                "summary": counts,
                "messages": [r.to_dict() for r in results],
                "stopped": stopped or None,
            }
        )
        return
    for result in results:
        for line in _lines(result):
            print(line)
    print(_summary_text(counts))


def _summary_text(counts: dict[str, int]) -> str:
    """``3 message(s): 2 bounce, 1 complaint; suppressed 1 hard-bounce, 1 complaint; ...``"""
    groups: dict[str, list[str]] = {"kind": [], "suppressed": [], "other": []}
    for key, value in counts.items():
        kind, _, rest = key.partition(":")
        if kind == "kind":
            groups["kind"].append(f"{value} {rest}")
        elif rest.startswith("suppressed:"):
            groups["suppressed"].append(f"{value} {rest.partition(':')[2]}")
        elif kind == "action":
            groups["other"].append(f"{value} {rest}")
    parts = [", ".join(groups["kind"])] if groups["kind"] else []
    if groups["suppressed"]:
        parts.append("suppressed " + ", ".join(groups["suppressed"]))
    parts.extend(groups["other"])
    if counts["unreadable"]:
        parts.append(f"{counts['unreadable']} could not be read")
    return f"{counts['messages']} message(s): " + ("; ".join(parts) or "nothing")


def _lines(result: IngestResult) -> list[str]:
    where = one_line(result.source)
    if result.error:
        return [f"{where}: could not read: {one_line(result.error)}"]
    inbound = result.inbound
    assert inbound is not None
    lines = [
        f"{where}: {inbound.kind}" + (f" ({one_line(inbound.problem)})" if inbound.problem else "")
    ]
    for bounce in inbound.bounces:
        lines.append(
            f"  {bounce.kind} bounce {bounce.status or '-'} {one_line(bounce.recipient or '?')}"
            f" [{bounce.matched_by}"
            + (f" #{bounce.verp_recipient_id}]" if bounce.verp_recipient_id is not None else "]")
        )
    if inbound.complaint is not None:
        c = inbound.complaint
        lines.append(
            f"  complaint {c.feedback_type} via {one_line(c.provider or c.user_agent or '?')}"
            f" [{c.matched_by}"
            + (f" #{c.verp_recipient_id}]" if c.verp_recipient_id is not None else "]")
        )
    for action in result.actions:
        what = f"{action.kind}" + (f" {action.reason}" if action.reason else "")
        who = one_line(action.address or "-")
        tenant = f" tenant {one_line(action.tenant)}" if action.tenant else ""
        lines.append(
            f"  -> {what}: {who}{tenant}"
            + (f" ({one_line(action.detail)})" if action.detail else "")
        )
    return lines
