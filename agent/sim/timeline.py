"""Draw an emulated call as one self-contained HTML page (inline SVG and CSS, no scripts).

The drawing has a time axis in seconds and four lanes:

- caller: what the caller said (bars labelled with the text; barge-ins outlined in red);
- agent: the agent audio the caller heard (interrupted utterances hatched orange, underruns as
  red markers, optional text labels), with each turn's latency drawn as a bracket from the end
  of the caller's speech to the start of the agent's answer, labelled like "0.72 s";
- marks: ``mark`` messages received (grey, top) and echoed (green; hollow orange when a clear
  flushed them unplayed);
- events: DTMF, script timeouts and protocol errors.

Clears are dashed vertical lines across all lanes, the hang-up a solid one. Every shape has a
hover ``<title>`` with the details. A table of turns and a summary follow the drawing.

``write_timeline`` writes the page, or a PNG screenshot of it when the path ends in ``.png``
(that needs Chromium at ``/usr/bin/chromium``; HTML is the main output).
"""

from __future__ import annotations

import itertools
import math
import subprocess
import tempfile
from collections.abc import Iterable
from html import escape
from pathlib import Path

from agent.sim.result import CallResult
from agent.sim.turns import (
    AgentUtterance,
    CallerTurn,
    TurnLatency,
    agent_utterances,
    call_end,
    caller_turns,
    summary,
    turn_latencies,
)

__all__ = ["TimelineError", "render_timeline_html", "render_timeline_svg", "write_timeline"]

CHROMIUM = "/usr/bin/chromium"
PAGE_WIDTH = 1400  # the PNG's width; the SVG is drawn for it

# Geometry of the drawing (SVG user units = CSS px at the page width).
_W = 1340
_LEFT, _RIGHT = 78, 24
_TOP = 34  # room for the labels of clears and the hang-up
_CALLER_LABEL_Y = _TOP + 18
_CALLER_Y, _BAR_H = _TOP + 26, 26
_LAT_ROWS = tuple(_CALLER_Y + _BAR_H + 20 + 18 * i for i in range(3))  # bracket lines
_AGENT_Y = _LAT_ROWS[-1] + 14
_AGENT_LABEL_Y = _AGENT_Y + _BAR_H + 16
_MARKS_Y = _AGENT_LABEL_Y + 14
_MARKS_H = 34
_EVENTS_Y = _MARKS_Y + _MARKS_H + 8
_EVENTS_H = 28
_AXIS_Y = _EVENTS_Y + _EVENTS_H + 8
_H = _AXIS_Y + 30
_FONT_PX = 12
_CHAR_W = 0.6  # average glyph width per font px: enough to keep estimated labels apart

# The drawing carries its own style, so the <svg> also works cut out of the page.
_SVG_CSS = """
text { font-family: "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       font-size: 12px; fill: #1f2933; }
.lane-name { font-weight: bold; fill: #52606d; }
.small { font-size: 10px; fill: #52606d; }
.lat { font-weight: bold; }
.lat.compact { font-size: 10px; }
.lat-none { font-size: 11px; font-style: italic; fill: #b91c1c; }
.halo { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.clear-label { font-size: 10px; fill: #c2410c; }
.close-label { font-size: 10px; font-weight: bold; }
"""

_PAGE_CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 16px 20px; color: #1f2933; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: #52606d; font-size: 13px; margin: 0 0 10px; }
svg.timeline { width: 100%; max-width: 1340px; height: auto; display: block;
               border: 1px solid #e4e7eb; border-radius: 6px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 12px; color: #52606d;
          margin: 8px 0 14px; }
.legend span.sw { display: inline-block; width: 18px; height: 10px; margin-right: 5px;
                  vertical-align: middle; border-radius: 2px; }
table { border-collapse: collapse; font-size: 13px; min-width: 760px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 5px 12px; text-align: left; }
th { background: #f5f7fa; color: #52606d; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.unanswered td { color: #b91c1c; }
.stats { font-size: 13px; color: #323f4b; margin: 14px 0 0; line-height: 1.6; }
"""

_LEGEND = (
    ("#4c78a8", "caller speech", ""),
    ("#4c78a8", "caller barge-in", "outline: 2px solid #d62728;"),
    ("#54a24b", "agent audio heard", ""),
    ("#f58518", "agent audio interrupted (clear)", ""),
    ("#d62728", "underrun (stutter)", ""),
    ("#f58518", "clear", "height: 0; border-top: 2px dashed #f58518; background: none;"),
    ("#1f2933", "hang-up / close", "height: 0; border-top: 2px solid #1f2933; background: none;"),
    ("#9aa5b1", "mark sent", ""),
    ("#2e7d32", "mark echoed (played)", ""),
    ("#fff", "mark echoed unplayed", "border: 2px solid #f58518;"),
    ("#d62728", "barge-in → clear", "height: 0; border-top: 3px solid #d62728; background: none;"),
    ("#8e44ad", "DTMF", ""),
)


class TimelineError(RuntimeError):
    """The timeline could not be written in the requested format."""


# -- public ---------------------------------------------------------------------------------


def render_timeline_html(
    result: CallResult, title: str = "", agent_texts: dict[int, str] | None = None
) -> str:
    """One self-contained HTML page drawing the call; ``agent_texts`` labels agent utterances
    by their index in ``turns.agent_utterances(result)``."""
    turns = turn_latencies(result)
    heading = title or f"Call {result.call_sid}"
    svg = render_timeline_svg(result, agent_texts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(heading)}</title><style>{_PAGE_CSS}</style></head><body>\n"
        f'<h1>{escape(heading)}</h1>\n<p class="sub">{escape(_subtitle(result))}</p>\n'
        f"{svg}\n{_legend_html()}\n{_turns_table(turns)}\n{_stats_html(result)}\n"
        "</body></html>\n"
    )


def render_timeline_svg(result: CallResult, agent_texts: dict[int, str] | None = None) -> str:
    """The drawing alone: a standalone, well-formed ``<svg>`` element."""
    scale = _Scale(call_end(result))
    latencies = turn_latencies(result)
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img">',
        f"<style>{_SVG_CSS}</style>",
        _defs(),
        *_lanes(),
        *_axis(scale),
        *_caller_bars(caller_turns(result), latencies, scale),
        *_agent_bars(agent_utterances(result), agent_texts or {}, scale),
        *_underruns(result.underruns, scale),
        *_latency_brackets(latencies, scale),
        *_marks(result, scale),
        *_events(result, scale),
        *_clears(result, scale),
        *_close(result, scale),
        "</svg>",
    ]
    return "\n".join(p for p in parts if p)


def write_timeline(
    result: CallResult,
    path: str | Path,
    title: str = "",
    agent_texts: dict[int, str] | None = None,
) -> Path:
    """Write the timeline page to ``path``; a ``.png`` path gets a Chromium screenshot of it.

    Raises ``TimelineError`` for a PNG when Chromium is missing or fails.
    """
    path = Path(path)
    html = render_timeline_html(result, title, agent_texts)
    if path.suffix.lower() != ".png":
        path.write_text(html, encoding="utf-8")
        return path
    if not Path(CHROMIUM).exists():
        raise TimelineError(
            f"PNG output needs Chromium at {CHROMIUM}, which is not installed; "
            f"write the timeline to an .html file instead (e.g. {path.with_suffix('.html')})"
        )
    _screenshot(html, path, _page_height(len(turn_latencies(result))))
    return path


# -- geometry helpers ---------------------------------------------------------------------


class _Scale:
    """Maps call time (s) to x, and picks axis ticks at a round step."""

    def __init__(self, end: float) -> None:
        self.end = max(end, 1.0)
        self.px_per_s = (_W - _LEFT - _RIGHT) / self.end

    def x(self, t: float) -> float:
        return round(_LEFT + min(max(t, 0.0), self.end) * self.px_per_s, 1)

    def step(self) -> float:
        # The smallest round step that keeps tick labels at least ~55 px apart.
        for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
            if step * self.px_per_s >= 55:
                return step
        return 1200.0


def _text_w(text: str, font_px: float = _FONT_PX, bold: bool = False) -> float:
    return len(text) * font_px * (_CHAR_W + 0.08 * bold)


def _fit(text: str, width: float, font_px: float = _FONT_PX) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` px; empty when not even one letter fits."""
    if _text_w(text, font_px) <= width:
        return text
    n = int(width / (font_px * _CHAR_W)) - 1
    return text[:n].rstrip() + "…" if n >= 1 else ""


def _fmt_s(t: float | None, digits: int = 2) -> str:
    return "–" if t is None else f"{t:.{digits}f} s"


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _label_space(starts: list[float], i: int, scale: _Scale) -> float:
    """Room for the label of bar ``i``: up to the next bar's start (or the plot's right end)."""
    right = scale.x(starts[i + 1]) if i + 1 < len(starts) else _W - 4
    return right - scale.x(starts[i]) - 6


# -- drawing ------------------------------------------------------------------------------


def _defs() -> str:
    return (
        "<defs>"
        '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f58518"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2.5" '
        'stroke-opacity="0.6"/></pattern>'
        "</defs>"
    )


def _lanes() -> Iterable[str]:
    lanes = (
        ("caller", _CALLER_Y - 22, _BAR_H + 22, _CALLER_Y + _BAR_H / 2),
        ("agent", _AGENT_Y, _BAR_H + 22, _AGENT_Y + _BAR_H / 2),
        ("marks", _MARKS_Y, _MARKS_H, _MARKS_Y + _MARKS_H / 2),
        ("events", _EVENTS_Y, _EVENTS_H, _EVENTS_Y + _EVENTS_H / 2),
    )
    for name, y, h, mid in lanes:
        yield (
            f'<rect x="{_LEFT}" y="{y}" width="{_W - _LEFT - _RIGHT}" height="{h}" fill="#f8fafc"/>'
        )
        yield f'<text class="lane-name" x="{_LEFT - 10}" y="{mid + 4}" text-anchor="end">{name}</text>'
    yield (
        f'<text class="small" x="{_LEFT - 10}" y="{_LAT_ROWS[1] + 4}" text-anchor="end">'
        "latency</text>"
    )


def _axis(scale: _Scale) -> Iterable[str]:
    step = scale.step()
    digits = 0 if step >= 1 else (1 if step * 10 == int(step * 10) else 2)
    yield (
        f'<line x1="{_LEFT}" y1="{_AXIS_Y}" x2="{_W - _RIGHT}" y2="{_AXIS_Y}" stroke="#9aa5b1"/>'
    )
    for k in range(int(math.floor(scale.end / step + 1e-9)) + 1):
        t = k * step
        x = scale.x(t)
        yield (
            f'<line x1="{x}" y1="{_TOP - 6}" x2="{x}" y2="{_AXIS_Y}" stroke="#e4e7eb" '
            'stroke-width="1"/>'
        )
        yield f'<line x1="{x}" y1="{_AXIS_Y}" x2="{x}" y2="{_AXIS_Y + 5}" stroke="#9aa5b1"/>'
        yield (
            f'<text class="small tick" x="{x}" y="{_AXIS_Y + 17}" text-anchor="middle">'
            f"{t:.{digits}f}</text>"
        )
    yield (
        f'<text class="small" x="{_W - _RIGHT}" y="{_AXIS_Y + 28}" text-anchor="end">'
        "seconds since the call was placed</text>"
    )


def _caller_bars(
    turns: list[CallerTurn], latencies: list[TurnLatency], scale: _Scale
) -> Iterable[str]:
    starts = [t.start for t in turns]
    for i, (turn, lat) in enumerate(zip(turns, latencies, strict=True)):
        x1, x2 = scale.x(turn.start), scale.x(turn.end)
        tip = f"caller #{i + 1}: “{turn.text}” {turn.start:.2f}–{turn.end:.2f} s"
        if lat.barge_in:
            tip += f"; barge-in at {lat.barge_in_at:.2f} s"
            if lat.barge_in_to_clear is not None:
                tip += f", clear {lat.barge_in_to_clear:.2f} s later"
        outline = ' stroke="#d62728" stroke-width="2"' if lat.barge_in else ""
        yield (
            f'<rect class="caller-bar" x="{x1}" y="{_CALLER_Y}" width="{max(x2 - x1, 2):.1f}" '
            f'height="{_BAR_H}" rx="3" fill="#4c78a8"{outline}>{_title(tip)}</rect>'
        )
        label = _fit(f"“{turn.text}”", _label_space(starts, i, scale))
        if label:
            yield (
                f'<text class="caller-text" x="{x1 + 1}" y="{_CALLER_LABEL_Y}">'
                f"{escape(label)}{_title(tip)}</text>"
            )


def _agent_bars(
    utterances: list[AgentUtterance], texts: dict[int, str], scale: _Scale
) -> Iterable[str]:
    starts = [u.start for u in utterances]
    for i, u in enumerate(utterances):
        x1, x2 = scale.x(u.start), scale.x(u.end)
        state = "interrupted by a clear" if u.interrupted else "played to the end"
        tip = f"agent #{i}: {u.start:.2f}–{u.end:.2f} s ({u.duration:.2f} s), {state}"
        if i in texts:
            tip += f": “{texts[i]}”"
        fill = "url(#hatch)" if u.interrupted else "#54a24b"
        cls = "agent-bar interrupted" if u.interrupted else "agent-bar"
        yield (
            f'<rect class="{cls}" x="{x1}" y="{_AGENT_Y}" width="{max(x2 - x1, 2):.1f}" '
            f'height="{_BAR_H}" rx="3" fill="{fill}">{_title(tip)}</rect>'
        )
        if u.interrupted:  # a hard edge where the audio was cut
            yield (
                f'<line x1="{x2}" y1="{_AGENT_Y - 3}" x2="{x2}" y2="{_AGENT_Y + _BAR_H + 3}" '
                'stroke="#c2410c" stroke-width="2.5"/>'
            )
        label = _fit(texts.get(i, ""), _label_space(starts, i, scale))
        if label:
            yield (
                f'<text class="agent-text" x="{x1 + 1}" y="{_AGENT_LABEL_Y}">'
                f"{escape(label)}{_title(tip)}</text>"
            )


def _underruns(underruns: list[tuple[float, float]], scale: _Scale) -> Iterable[str]:
    for t, gap_ms in underruns:
        x = scale.x(t)
        w = gap_ms / 1000 * scale.px_per_s
        tip = _title(f"underrun at {t:.2f} s: {gap_ms:.0f} ms of silence inside an utterance")
        yield (
            f'<rect class="underrun" x="{x}" y="{_AGENT_Y - 4}" width="{max(w, 3):.1f}" '
            f'height="{_BAR_H + 8}" rx="1" fill="#d62728">{tip}</rect>'
        )


def _latency_brackets(latencies: list[TurnLatency], scale: _Scale) -> Iterable[str]:
    """Elbow brackets from caller end down to agent start, each labelled where it crosses no
    other label or bracket line (see ``_Rows``)."""
    rows = _Rows(len(_LAT_ROWS), [scale.x(t.caller_end) for t in latencies if t.answered])
    for lat in latencies:
        x1 = scale.x(lat.caller_end)
        if lat.latency is None or lat.agent_start is None:
            yield _no_answer(lat, x1, rows)
            continue
        rows.passed(x1)
        x2 = scale.x(lat.agent_start)
        row, label = _place_latency(rows, x1, x2, lat.latency)
        y = _LAT_ROWS[row]
        tip = _title(
            f"turn {lat.index + 1} latency {lat.latency:.3f} s: caller stopped at "
            f"{lat.caller_end:.2f} s, agent audio began at {lat.agent_start:.2f} s"
        )
        text = ""
        if label is not None:
            cls, attrs, words = label
            text = f'<text class="{cls} halo" y="{y}" {attrs}>{words}</text>'
        yield (
            f'<g class="latency"><path d="M{x1},{_CALLER_Y + _BAR_H} L{x1},{y} L{x2},{y} '
            f'L{x2},{_AGENT_Y}" fill="none" stroke="#323f4b" stroke-width="1.5"/>'
            f"{text}{tip}</g>"
        )
        if lat.barge_in_at is not None and lat.barge_in_to_clear is not None:
            yield from _barge_in_bracket(lat, scale)


def _no_answer(lat: TurnLatency, x1: float, rows: _Rows) -> str:
    """ "no answer" just after the caller's end, or just before it (under the caller's bar)."""
    text = "no answer"
    w = _text_w(text, 11)
    options = [
        ((x1 + 3, x1 + 3 + w), f'x="{x1 + 3}"'),
        ((x1 - 3 - w, x1 - 3), f'x="{x1 - 3}" text-anchor="end"'),
    ]
    row, attrs = rows.n - 1, options[0][1]
    for strict, r, (span, option) in itertools.product((True, False), range(rows.n), options):
        if rows.fits(r, span, strict=strict):
            row, attrs = r, option
            rows.claim(r, span)
            break
    return (
        f'<text class="lat-none halo" {attrs} y="{_LAT_ROWS[row] - 4}">{text}'
        f"{_title(f'caller #{lat.index + 1} got no answer')}</text>"
    )


def _place_latency(
    rows: _Rows, x1: float, x2: float, latency: float
) -> tuple[int, tuple[str, str, str] | None]:
    """The row of a bracket and its label (class, position attributes, text): the first that
    fits of "0.72 s" (then a compact "0.72") above the bracket, right of it or left of it, on
    the top row first; else no label (the hover title and the table still give it)."""
    labels = [("lat", f"{latency:.2f} s", 12), ("lat compact", f"{latency:.2f}", 10)]
    # First keep clear of later brackets' caller-side lines on every row (covering one pushes
    # that bracket down, or leaves it no room), then only on the top row, which they all cross.
    for strict, (cls, text, font_px) in itertools.product((True, False), labels):
        w = _text_w(text, font_px, bold=True)
        dy = round(font_px / 3)  # baseline that centres digits on the bracket line
        options = [
            ((x2 + 2, x2 + 6 + w), f'x="{x2 + 4:.1f}" dy="{dy}"'),
            ((x1 - 6 - w, x1 - 2), f'x="{x1 - 4:.1f}" dy="{dy}" text-anchor="end"'),
        ]
        if x2 - x1 >= w + 8:  # wide enough to sit above its own bracket
            mid = (x1 + x2) / 2
            above = f'x="{mid:.1f}" dy="-4" text-anchor="middle"'
            options.insert(0, ((mid - w / 2, mid + w / 2), above))
        for row in range(rows.n):
            for (lo, hi), attrs in options:
                span = (min(lo, x1), max(hi, x2))
                if rows.fits(row, span, x1, x2, strict=strict):
                    rows.claim(row, span, x1, x2)
                    return row, (cls, attrs, text)
    row = next((r for r in range(rows.n) if rows.fits(r, (x1, x2), x1, x2)), rows.n - 1)
    rows.claim(row, (x1, x2), x1, x2)
    return row, None


class _Rows:
    """What is drawn on each latency row (x intervals), to place brackets without crossings.

    A bracket on row r covers its span on r, its caller-side line (``top``) on the rows above
    and its agent-side line (``bottom``) on the rows below. ``upcoming`` caller ends will get
    a line through the top row, so nothing placed there may cover them.
    """

    def __init__(self, n: int, upcoming: list[float]) -> None:
        self.n = n
        self.busy: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        self.upcoming = list(upcoming)

    def passed(self, x: float) -> None:
        """The bracket starting at ``x`` is being placed: it is no longer upcoming."""
        self.upcoming.remove(x)

    def fits(
        self,
        row: int,
        span: tuple[float, float],
        top: float | None = None,
        bottom: float | None = None,
        strict: bool = False,
    ) -> bool:
        """Whether it crosses nothing drawn, nor an upcoming caller-side line on the top row
        (on every row when ``strict``)."""
        if span[0] < _LEFT or span[1] > _W - 2:  # off the plot
            return False
        for r, (lo, hi) in self._uses(row, span, top, bottom):
            if any(lo < b + 4 and a < hi + 4 for a, b in self.busy[r]):
                return False
        if row > 0 and not strict:
            return True
        return not any(span[0] - 4 < x < span[1] + 4 for x in self.upcoming)

    def claim(
        self,
        row: int,
        span: tuple[float, float],
        top: float | None = None,
        bottom: float | None = None,
    ) -> None:
        for r, interval in self._uses(row, span, top, bottom):
            self.busy[r].append(interval)

    def _uses(
        self, row: int, span: tuple[float, float], top: float | None, bottom: float | None
    ) -> list[tuple[int, tuple[float, float]]]:
        uses = [(row, span)]
        if top is not None:
            uses += [(r, (top, top)) for r in range(row)]
        if bottom is not None:
            uses += [(r, (bottom, bottom)) for r in range(row + 1, self.n)]
        return uses


def _barge_in_bracket(lat: TurnLatency, scale: _Scale) -> Iterable[str]:
    """A short orange bar just above the agent lane: barge-in start to the server's clear."""
    assert lat.barge_in_at is not None and lat.barge_in_to_clear is not None
    x1 = scale.x(lat.barge_in_at)
    x2 = scale.x(lat.barge_in_at + lat.barge_in_to_clear)
    y = _AGENT_Y - 5
    tip = _title(f"barge-in at {lat.barge_in_at:.2f} s, clear {lat.barge_in_to_clear:.3f} s later")
    yield (
        f'<g class="barge-in"><line x1="{x1}" y1="{y}" x2="{max(x2, x1 + 2)}" y2="{y}" '
        f'stroke="#d62728" stroke-width="3"/>{tip}</g>'
    )


def _marks(result: CallResult, scale: _Scale) -> Iterable[str]:
    top, bottom = _MARKS_Y + 10, _MARKS_Y + _MARKS_H - 10
    for _, t, name in result.events("mark_in"):
        x = scale.x(t)
        yield (
            f'<path class="mark-in" d="M{x - 4},{top - 5} L{x + 4},{top - 5} L{x},{top + 3} Z" '
            f'fill="#9aa5b1">{_title(f"mark {name!r} sent by the server at {t:.2f} s")}</path>'
        )
    for event in result.events("mark_echo"):
        t, name = event[1], event[2]
        played = event[3] if len(event) > 3 else True
        x = scale.x(t)
        if played:
            tip = f"mark {name!r} echoed at {t:.2f} s: its audio finished playing"
            style = 'fill="#2e7d32"'
        else:
            tip = f"mark {name!r} echoed at {t:.2f} s unplayed: a clear flushed it"
            style = 'fill="#fff" stroke="#f58518" stroke-width="2"'
        cls = "mark-echo" if played else "mark-echo unplayed"
        yield f'<circle class="{cls}" cx="{x}" cy="{bottom}" r="4" {style}>{_title(tip)}</circle>'


def _events(result: CallResult, scale: _Scale) -> Iterable[str]:
    mid = _EVENTS_Y + _EVENTS_H / 2
    for _, t, digit in result.events("dtmf"):
        x = scale.x(t)
        yield (
            f'<g class="dtmf"><path d="M{x},{mid - 8} L{x + 8},{mid} L{x},{mid + 8} '
            f'L{x - 8},{mid} Z" fill="#8e44ad"/><text {_beside(x, 11, f"DTMF {digit}")}>'
            f"DTMF {escape(str(digit))}</text>{_title(f'DTMF {digit} at {t:.2f} s')}</g>"
        )
    # Plain ASCII glyphs: symbol fonts may be missing where the PNG is rendered.
    problems = [("timeout", "T", "#7b8794"), ("protocol_error", "!", "#d62728")]
    for kind, glyph, colour in problems:
        for _, t, what in result.events(kind):
            x = scale.x(t)
            name = kind.replace("_", " ")
            tip = _title(f"{name} at {t:.2f} s: {what}")
            yield (
                f'<g class="{kind}"><circle cx="{x}" cy="{mid}" r="7" fill="{colour}"/>'
                f'<text x="{x}" y="{mid + 4}" text-anchor="middle" '
                f'style="fill:#fff;font-weight:bold;font-size:11px">{glyph}</text>'
                f'<text class="small" {_beside(x, 10, name, 10)}>{name}</text>{tip}</g>'
            )


def _beside(x: float, gap: float, text: str, font_px: float = _FONT_PX) -> str:
    """Position attributes for an events-lane label: right of its marker, or left of it when
    it would run off the plot."""
    y = _EVENTS_Y + _EVENTS_H / 2 + 4
    if x + gap + _text_w(text, font_px) <= _W - 4:
        return f'x="{x + gap}" y="{y}"'
    return f'x="{x - gap}" y="{y}" text-anchor="end"'


def _clears(result: CallResult, scale: _Scale) -> Iterable[str]:
    times = result.clears or [e[1] for e in result.events("clear")]
    last_x = -math.inf
    for t in sorted(times):
        x = scale.x(t)
        tip = _title(f"clear at {t:.2f} s: the server flushed the caller's playback buffer")
        yield (
            f'<line class="clear" x1="{x}" y1="{_TOP - 4}" x2="{x}" y2="{_AXIS_Y}" '
            f'stroke="#f58518" stroke-width="1.5" stroke-dasharray="5,3">{tip}</line>'
        )
        if x - last_x > 34:  # one label per cluster of clears
            yield f'<text class="clear-label" x="{x}" y="{_TOP - 8}" text-anchor="middle">clear</text>'
            last_x = x


def _close(result: CallResult, scale: _Scale) -> Iterable[str]:
    closed = result.events("closed")
    if not closed:
        return
    _, t, by, code = closed[-1][:4]
    who = {"caller": "caller hung up", "server": "server closed", "api": "ended via API"}
    text = who.get(by, f"closed by {by or '?'}") + (f" ({code})" if code is not None else "")
    x = scale.x(t)
    yield (
        f'<line class="close" x1="{x}" y1="{_TOP - 18}" x2="{x}" y2="{_AXIS_Y}" '
        f'stroke="#1f2933" stroke-width="2">{_title(f"{text} at {t:.2f} s")}</line>'
    )
    yield (
        f'<text class="close-label" x="{x - 4}" y="{_TOP - 20}" text-anchor="end">'
        f"{escape(text)}</text>"
    )


# -- the HTML around the drawing ------------------------------------------------------------


def _subtitle(result: CallResult) -> str:
    parts = [f"{result.duration_s:.2f} s", f"closed by {result.closed_by or '?'}"]
    if result.close_code is not None:
        parts[-1] += f" ({result.close_code})"
    if result.parameters:
        parts.append(", ".join(f"{k}={v}" for k, v in sorted(result.parameters.items())))
    if result.stream_url:
        parts.append(result.stream_url)
    return " · ".join(parts)


def _legend_html() -> str:
    items = [
        f'<span><span class="sw" style="background:{colour};{extra}"></span>{escape(name)}</span>'
        for colour, name, extra in _LEGEND
    ]
    return f'<div class="legend">{"".join(items)}</div>'


def _turns_table(turns: list[TurnLatency]) -> str:
    head = (
        "<tr><th>#</th><th>caller said</th><th>spoke</th><th>agent began</th>"
        "<th>latency</th><th>barge-in</th><th>barge-in → clear</th></tr>"
    )
    rows = []
    for t in turns:
        cls = ' class="unanswered"' if t.latency is None else ""
        barge = "–" if t.barge_in_at is None else f"yes, at {t.barge_in_at:.2f} s"
        rows.append(
            f'<tr{cls}><td class="num">{t.index + 1}</td><td>{escape(t.text)}</td>'
            f'<td class="num">{t.caller_start:.2f}–{t.caller_end:.2f} s</td>'
            f'<td class="num">{_fmt_s(t.agent_start)}</td>'
            f'<td class="num">{"no answer" if t.latency is None else _fmt_s(t.latency)}</td>'
            f'<td>{barge}</td><td class="num">{_fmt_s(t.barge_in_to_clear)}</td></tr>'
        )
    if not rows:
        rows.append('<tr><td colspan="7">the caller said nothing</td></tr>')
    return f'<table class="turns">{head}{"".join(rows)}</table>'


def _stats_html(result: CallResult) -> str:
    s = summary(result)

    def sec(key: str) -> str:
        value = s[key]
        return "–" if value is None else f"{value:.2f} s"

    lines = [
        f"latency p50 {sec('latency_p50_s')} · p95 {sec('latency_p95_s')} · "
        f"max {sec('latency_max_s')} · answered {s['answered']}/{s['turns']} turns · "
        f"first agent audio {sec('first_agent_audio_s')}",
        f"clears {s['clears']} · barge-ins {s['barge_ins']} · "
        f"interrupted utterances {s['interrupted_utterances']}/{s['agent_utterances']} · "
        f"underruns {s['underruns']} ({s['underrun_ms_total']} ms) · marks sent "
        f"{s['marks_sent']}, echoed {s['marks_echoed']} ({s['marks_unplayed']} unplayed)",
    ]
    return f'<p class="stats">{"<br>".join(escape(line) for line in lines)}</p>'


# -- PNG ------------------------------------------------------------------------------------


def _page_height(n_turns: int) -> int:
    """Generous estimate of the page's height, so the screenshot holds the whole table."""
    return 16 + 60 + _H + 80 + 32 + 30 * max(n_turns, 1) + 60


def _screenshot(html: str, path: Path, height: int) -> None:
    path.unlink(missing_ok=True)  # so a stale file cannot pass for a fresh screenshot
    with tempfile.TemporaryDirectory(prefix="timeline-") as tmp:
        page = Path(tmp) / "timeline.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(tmp) / "profile"  # a fresh profile: no state shared with other runs
        cmd = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={path.resolve()}",
            f"--window-size={PAGE_WIDTH},{height}",
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TimelineError("Chromium took over 60 s to render the timeline") from exc
        if proc.returncode != 0 or not path.exists():
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise TimelineError(f"Chromium could not render {path}: {' | '.join(tail)}")
