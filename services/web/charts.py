"""Charts drawn on the server as SVG: lines over weeks or days, horizontal bars per area. Every label is
escaped; numbers are written the Indonesian way (211.077)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from services.web.formatting import angka

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 28, 34
COLOURS = ("#0b4f6c", "#1b9e77", "#d95f02", "#7570b3")


@dataclass(frozen=True)
class Line:
    name: str
    values: Sequence[float]


def _ceiling(top: float) -> float:
    """A round number at or above `top` for the y axis (1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= top:
        power *= 10
    for step in (1, 2, 5, 10):
        if step * power >= top:
            return step * power
    return 10 * power


def line_chart(title: str, labels: Sequence[str], lines: Sequence[Line], *, ident: str) -> Markup:
    """Lines over `labels` (weeks or days), y from 0, four grid lines, a legend above."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _ceiling(max((v for line in lines for v in line.values), default=0))
    count = max(len(labels), 2)

    def x(i: int) -> float:
        return LEFT + plot_w * i / (count - 1)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [f'<svg id="{escape(ident)}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for step in range(5):
        value = top * step / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" class="tick" text-anchor="end">{angka(value)}</text>')
    every = max(1, len(labels) // 6)
    for i, label in enumerate(labels):
        last = i == len(labels) - 1 and (len(labels) - 1) % every >= every / 2
        if i % every == 0 or last:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" class="tick" text-anchor="middle">{escape(label)}</text>')
    for n, line in enumerate(lines):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line.values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<rect x="{LEFT + n * 150}" y="8" width="12" height="4" fill="{colour}"/>'
                     f'<text x="{LEFT + n * 150 + 16}" y="14" class="legend">{escape(line.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above; the rest are numbers


def bar_chart(title: str, rows: Sequence[tuple[str, float, str]], *, ident: str) -> Markup:
    """One horizontal bar per (label, value, note), longest at the top of the scale."""
    row_h, label_w = 22, 170
    height = TOP + row_h * max(len(rows), 1) + 8
    top = _ceiling(max((value for _, value, _ in rows), default=0))
    plot_w = WIDTH - label_w - RIGHT - 110
    parts = [f'<svg id="{escape(ident)}" class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    if not rows:
        parts.append(f'<text x="{label_w}" y="{TOP + 14}" class="tick kosong">Belum ada data.</text>')
    for i, (label, value, note) in enumerate(rows):
        y = TOP + i * row_h
        width = plot_w * value / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" class="tick" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="14" fill="{COLOURS[0]}"/>'
                     f'<text x="{label_w + width + 6:.1f}" y="{y + 14}" class="tick">{angka(value)} {escape(note)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above; the rest are numbers
