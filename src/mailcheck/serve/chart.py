"""The dashboard's 24-hour chart as SVG shapes (rendered by the template, no script)."""

from __future__ import annotations

import dataclasses
import time

from mailcheck.serve.sending_view import HOURS, HourlyCounts

WIDTH, HEIGHT, LEFT, BOTTOM = 480, 120, 36, 18


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    """One bar: ``kind`` is ``delivered`` or ``deferred`` (the CSS class)."""

    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """A provider group's chart: bars, the top of the scale, hour ticks."""

    group: str
    bars: tuple[Bar, ...]
    top: int
    ticks: tuple[tuple[float, str], ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = BOTTOM


def chart(counts: HourlyCounts, start: float) -> Chart:
    """Stacked bars per hour: deliveries below, deferrals on top."""
    top = max([d + f for d, f in zip(counts.delivered, counts.deferred, strict=True)] + [1])
    plot_h = HEIGHT - BOTTOM - 4
    step = (WIDTH - LEFT) / HOURS
    bars = []
    for hour, (delivered, deferred) in enumerate(zip(counts.delivered, counts.deferred,
                                                     strict=True)):  # fmt: skip
        x = LEFT + hour * step + 1
        base = float(HEIGHT - BOTTOM)
        label = time.strftime("%H:00", time.gmtime(start + hour * 3600))
        for kind, value in (("delivered", delivered), ("deferred", deferred)):
            if value:
                h = plot_h * value / top
                base -= h
                bars.append(Bar(x=round(x, 1), y=round(base, 1), width=round(step - 2, 1),
                                height=round(h, 1), kind=kind,
                                title=f"{label} UTC: {value} {kind}"))  # fmt: skip
    ticks = tuple(
        (round(LEFT + hour * step, 1), time.strftime("%H h", time.gmtime(start + hour * 3600)))
        for hour in range(0, HOURS, 6)
    )
    return Chart(group=counts.group, bars=tuple(bars), top=top, ticks=ticks)
