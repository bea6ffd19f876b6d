"""Plot one simulated newsletter: the learned pace of each provider over time, throttling
replies marked, the hidden rate dashed. Writes an SVG (no plotting library needed).

    python bench/plot_world.py --seed 3 --out docs/img/pace.svg
"""

from __future__ import annotations

import argparse
import html
import sys

from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.simulation.run import run_world

COLOURS = {
    "google": "#4285f4",
    "microsoft": "#7fba00",
    "yahoo": "#6001d2",
    "orange": "#ff7900",
    "free": "#cd1e25",
    "mx.coop-host.example": "#333333",
}
W, H, LEFT, TOP, RIGHT, BOTTOM = 900, 420, 60, 30, 200, 40


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--out", default="docs/img/pace.svg")
    args = parser.parse_args()
    result = run_world(args.seed, hours=args.hours)
    providers = ProviderSet.load()
    end = (result.finished or args.hours * 3600) * 1.05
    hidden = {name: p["hidden_rate_per_hour"] for name, p in result.providers.items()}
    hidden["mx.coop-host.example"] = hidden.pop("coop", 0.0)
    series: dict[str, list[tuple[float, float]]] = {}
    throttles: dict[str, list[tuple[float, float]]] = {}
    for group in COLOURS:
        first = providers.pace_policy(group).first_contact * 3600
        series[group] = [(0.0, first)]
    for at, group, kind, rate in result.trace:
        if group not in series or not rate:
            continue
        series[group].append((at, rate))
        if kind == "slowed":
            throttles.setdefault(group, []).append((at, series[group][-2][1]))
    top = max(r for pts in series.values() for _, r in pts) * 1.4

    def x(t: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * t / end

    def y(rate: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - rate / top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    out.append(f'<line x1="{LEFT}" y1="{y(0)}" x2="{W - RIGHT}" y2="{y(0)}" stroke="#999"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y(0)}" stroke="#999"/>')
    for hour in range(int(end // 3600) + 1):
        out.append(f'<text x="{x(hour * 3600)}" y="{H - 15}" text-anchor="middle">{hour} h</text>')
    step = 10 ** max(0, len(str(int(top))) - 1)
    for tick in range(0, int(top) + 1, step):
        out.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4}" text-anchor="end">{tick}</text>')
    out.append(f'<text x="{LEFT}" y="{TOP - 10}">messages per hour (seed {args.seed})</text>')
    for i, (group, points) in enumerate(series.items()):
        colour = COLOURS[group]
        path = [f"M{x(points[0][0]):.1f},{y(points[0][1]):.1f}"]
        for (_, r0), (t1, r1) in zip(points, [*points[1:], (end, points[-1][1])], strict=True):
            path.append(f"L{x(t1):.1f},{y(r0):.1f} L{x(t1):.1f},{y(r1):.1f}")
        out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if group in hidden and hidden[group] <= top:
            out.append(
                f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(hidden[group]):.1f}" '
                f'y2="{y(hidden[group]):.1f}" stroke="{colour}" stroke-dasharray="4 4" '
                'stroke-opacity="0.6"/>'
            )
        for t, r in throttles.get(group, []):
            out.append(f'<circle cx="{x(t):.1f}" cy="{y(r):.1f}" r="4" fill="red"/>')
        label = html.escape(group.split(".")[1] if "." in group else group)
        out.append(
            f'<rect x="{W - RIGHT + 15}" y="{TOP + 20 * i}" width="12" height="12" '
            f'fill="{colour}"/><text x="{W - RIGHT + 32}" y="{TOP + 20 * i + 11}">'
            f"{label}</text>"
        )
    n = len(series)
    out.append(
        f'<circle cx="{W - RIGHT + 21}" cy="{TOP + 20 * n + 6}" r="4" fill="red"/>'
        f'<text x="{W - RIGHT + 32}" y="{TOP + 20 * n + 11}">throttling reply</text>'
    )
    out.append(
        f'<line x1="{W - RIGHT + 15}" x2="{W - RIGHT + 27}" y1="{TOP + 20 * n + 26}" '
        f'y2="{TOP + 20 * n + 26}" stroke="#333" stroke-dasharray="4 4"/>'
        f'<text x="{W - RIGHT + 32}" y="{TOP + 20 * n + 30}">hidden limit</text>'
    )
    out.append("</svg>")
    with open(args.out, "w", encoding="utf-8") as svg:
        svg.write("\n".join(out) + "\n")
    print(
        f"{args.out}: finished {result.finished:.0f} s, optimum {result.optimum:.0f} s, "
        f"throttled {result.throttled}, blocks {result.blocks}, dropped {result.dropped}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
