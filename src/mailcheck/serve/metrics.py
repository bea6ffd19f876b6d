"""``GET /metrics``: the Prometheus text exposition format (version 0.0.4).

Audits (per status, cache hits, running, waiting, the peak of running audits and the
configured bound), rate-limit refusals, and, when a spool is configured, recipients per
state and per provider group: delivered, waiting, paused, deferrals in the last 24 hours,
learned rate.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailcheck.serve.auditor import Auditor
from mailcheck.serve.sending_view import SendingView

MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label(value: str) -> str:
    """A label value as the format wants it: backslash, double quote and line feed escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return "\n".join(lines)


def _labels(**pairs: str) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in pairs.items()) + "}"


def render(auditor: Auditor, refused: int, view: SendingView | None) -> str:
    """The whole exposition."""
    families = [
        _family("mailcheck_audits_total", "counter", "Domain audits run, by report status.",
                [(_labels(status=s), n) for s, n in sorted(auditor.audits.items())]),
        _family("mailcheck_audit_errors_total", "counter", "Audits that raised an error.",
                [("", auditor.errors)]),
        _family("mailcheck_audit_cache_hits_total", "counter",
                "Audit requests answered from the cache or by an audit already running.",
                [("", auditor.cache_hits)]),
        _family("mailcheck_audits_running", "gauge", "Audits running now.",
                [("", auditor.running)]),
        _family("mailcheck_audits_waiting", "gauge", "Audits waiting for a slot.",
                [("", auditor.waiting)]),
        _family("mailcheck_audits_running_peak", "gauge",
                "The most audits that ever ran at once.", [("", auditor.peak)]),
        _family("mailcheck_audits_concurrency_limit", "gauge",
                "Audits allowed to run at once.", [("", auditor.config.max_audits)]),
        _family("mailcheck_rate_limited_total", "counter",
                "Requests refused by a rate limit.", [("", refused)]),
    ]  # fmt: skip
    if view is not None:
        families += _sending(view)
    return "\n".join(families) + "\n"


def _sending(view: SendingView) -> list[str]:
    providers = view.progress.providers
    deferrals = {h.group: sum(h.deferred) for h in view.hourly}
    deliveries = {h.group: sum(h.delivered) for h in view.hourly}
    return [
        _family("mailcheck_queue_recipients", "gauge", "Recipients in the spool, by state.",
                [(_labels(state=s), n) for s, n in view.states.items()]),
        _family("mailcheck_provider_delivered", "gauge",
                "Recipients delivered, per provider group (in the spool).",
                [(_labels(provider=p.group), p.delivered) for p in providers]),
        _family("mailcheck_provider_waiting", "gauge",
                "Recipients waiting, per provider group.",
                [(_labels(provider=p.group), p.waiting) for p in providers]),
        _family("mailcheck_provider_paused", "gauge",
                "1 while the provider group is paused.",
                [(_labels(provider=p.group), 1 if p.paused_until else 0) for p in providers]),
        _family("mailcheck_provider_deliveries_24h", "gauge",
                "Deliveries in the last 24 hours, per provider group.",
                [(_labels(provider=g), n) for g, n in sorted(deliveries.items())]),
        _family("mailcheck_provider_deferrals_24h", "gauge",
                "Deferrals in the last 24 hours, per provider group.",
                [(_labels(provider=g), n) for g, n in sorted(deferrals.items())]),
        _family("mailcheck_provider_rate_per_hour", "gauge",
                "The learned pace, messages per hour, per provider group.",
                [(_labels(provider=p.group), p.rate_per_hour) for p in providers
                 if p.rate_per_hour is not None]),
    ]  # fmt: skip
