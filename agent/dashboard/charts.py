"""Charts drawn on the server as SVG: no chart library, nothing loaded by the browser.

`bars` draws one series (calls per hour), `lines` several (latency p50 and p95), `hbars`
labelled horizontal bars (failures by provider). Each returns markup that scales to the
page's width (viewBox, width 100%), with every label escaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

W, H = 900, 200
PAD_L, PAD_B, PAD_T = 64, 20, 12


def _frame(inner: str, label: str, height: int = H) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">{inner}</svg>'
    )


def _axis(top: float, unit: str) -> str:
    y0, y1 = H - PAD_B, PAD_T
    return (
        f'<line x1="{PAD_L}" y1="{y0}" x2="{W}" y2="{y0}" class="axis"/>'
        f'<text x="{PAD_L - 4}" y="{y1 + 8}" class="tick" text-anchor="end">'
        f"{escape(_num(top))}{escape(unit)}</text>"
        f'<text x="{PAD_L - 4}" y="{y0}" class="tick" text-anchor="end">0</text>'
    )


def _num(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _x_labels(labels: list[str], step: float) -> str:
    every = max(1, len(labels) // 6)
    return "".join(
        f'<text x="{PAD_L + step * (i + 0.5):.1f}" y="{H - 4}" class="tick" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    )


def bars(values: list[float], labels: list[str], label: str, unit: str = "") -> Markup:
    top = max(values, default=0) or 1
    step = (W - PAD_L) / max(1, len(values))
    height = H - PAD_B - PAD_T
    rects = "".join(
        f'<rect x="{PAD_L + step * i + 1:.1f}" y="{H - PAD_B - height * v / top:.1f}" '
        f'width="{max(1.0, step - 2):.1f}" height="{height * v / top:.1f}" class="bar">'
        f"<title>{escape(labels[i])}: {escape(_num(v))}{escape(unit)}</title></rect>"
        for i, v in enumerate(values)
    )
    return _frame(_axis(top, unit) + rects + _x_labels(labels, step), label)


def lines(
    series: dict[str, list[float | None]], labels: list[str], label: str, unit: str = ""
) -> Markup:
    known = [v for values in series.values() for v in values if v is not None]
    top = max(known, default=0) or 1
    count = max((len(v) for v in series.values()), default=0)
    step = (W - PAD_L) / max(1, count)
    height = H - PAD_B - PAD_T
    paths = []
    for index, (name, values) in enumerate(series.items()):
        points = [
            f"{PAD_L + step * (i + 0.5):.1f},{H - PAD_B - height * v / top:.1f}"
            for i, v in enumerate(values)
            if v is not None
        ]
        dots = "".join(
            f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" class="dot s{index}"/>'
            for p in points
        )
        paths.append(
            f'<polyline points="{" ".join(points)}" class="line s{index}" fill="none"/>{dots}'
            f'<text x="{PAD_L + 10 + 44 * index}" y="{PAD_T + 10}" class="legend s{index}">'
            f"{escape(name)}</text>"
        )
    return _frame(_axis(top, unit) + "".join(paths) + _x_labels(labels, step), label)


def hbars(rows: list[tuple[str, float]], label: str) -> Markup:
    if not rows:
        return Markup('<p class="empty">None in this window.</p>')
    top = max(v for _, v in rows) or 1
    row_h = 22
    height = row_h * len(rows) + 4
    label_w = 220
    items = "".join(
        f'<text x="{label_w - 6}" y="{row_h * i + 15}" class="tick" text-anchor="end">'
        f"{escape(name)}</text>"
        f'<rect x="{label_w}" y="{row_h * i + 3}" height="{row_h - 6}" '
        f'width="{(W - label_w - 40) * v / top:.1f}" class="bar fail"/>'
        f'<text x="{label_w + (W - label_w - 40) * v / top + 4:.1f}" y="{row_h * i + 15}" '
        f'class="tick">{escape(_num(v))}</text>'
        for i, (name, v) in enumerate(rows)
    )
    return _frame(items, label, height)


def timeline(turns: list[dict], duration_s: float | None) -> Markup:
    """The call on one time axis: the caller's turns on the top row, the agent's below
    (cut words hatched), each a span from its start to its end."""
    spans = [t for t in turns if t.get("at_s") is not None]
    if not spans:
        return Markup('<p class="empty">No timed turns.</p>')
    end = max([duration_s or 0] + [t["end_s"] or t["at_s"] for t in spans]) or 1
    width = W - PAD_L
    height = 70
    rows = {"caller": 12, "agent": 36}
    items = [
        f'<text x="{PAD_L - 4}" y="{rows["caller"] + 11}" class="tick" text-anchor="end">caller</text>',
        f'<text x="{PAD_L - 4}" y="{rows["agent"] + 11}" class="tick" text-anchor="end">agent</text>',
        f'<line x1="{PAD_L}" y1="{height - 12}" x2="{W}" y2="{height - 12}" class="axis"/>',
        f'<text x="{W}" y="{height - 1}" class="tick" text-anchor="end">{escape(_num(end))} s</text>',
    ]
    for turn in spans:
        x = PAD_L + width * turn["at_s"] / end
        span_w = max(2.0, width * ((turn["end_s"] or turn["at_s"]) - turn["at_s"]) / end)
        kind = f"{turn['role']} {'cut' if turn['interrupted'] else ''}".strip()
        items.append(
            f'<rect x="{x:.1f}" y="{rows.get(turn["role"], 36)}" width="{span_w:.1f}" '
            f'height="14" class="span {escape(kind)}"><title>{escape(_num(turn["at_s"]))} s: '
            f"{escape(turn['text'][:80])}</title></rect>"
        )
    return _frame("".join(items), "the call's timeline", height)
