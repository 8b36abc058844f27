"""agent.sim.timeline: the HTML page of a call, checked by parsing its SVG drawing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from agent.sim import timeline
from agent.sim.timeline import TimelineError, render_timeline_html, write_timeline
from tests.sim.test_turns import barge_in_call, make_call, three_turn_call, underrun_call

SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_of(html: str) -> ET.Element:
    """The page's drawing, parsed as XML (fails the test if it is not well formed)."""
    match = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert match, "no <svg> in the page"
    return ET.fromstring(match.group(0))


def by_class(svg: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in svg.iter() if name in e.get("class", "").split()]


def texts(svg: ET.Element, cls: str) -> list[str]:
    return ["".join(e.itertext()) for e in by_class(svg, cls)]


def own_text(e: ET.Element) -> str:
    """An element's text without its hover <title>."""
    return e.text or ""


def test_page_is_self_contained_html_with_title():
    html = render_timeline_html(three_turn_call(), title="Receptionist <test>")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Receptionist &lt;test&gt;</title>" in html
    for external in ("<script", "src=", "href=", "<link", "@import"):
        assert external not in html


def test_lanes_carry_caller_and_agent_texts():
    agent_texts = {0: "Hi, this is Acme", 1: "It costs twenty dollars"}
    html = render_timeline_html(three_turn_call(), agent_texts=agent_texts)
    svg = svg_of(html)
    assert [own_text(e) for e in by_class(svg, "caller-text")] == [
        "“how much is it”",
        "“and on weekends”",
        "“bye”",
    ]
    assert [own_text(e) for e in by_class(svg, "agent-text")] == list(agent_texts.values())
    assert len(by_class(svg, "caller-bar")) == 3
    assert len(by_class(svg, "agent-bar")) == 4
    lanes = {own_text(e) for e in by_class(svg, "lane-name")}
    assert lanes == {"caller", "agent", "marks", "events"}


def test_latency_brackets_are_labelled_in_seconds():
    svg = svg_of(render_timeline_html(three_turn_call()))
    labels = [own_text(e) for e in by_class(svg, "lat")]
    assert labels == ["0.72 s", "0.50 s", "1.10 s"]
    assert len(by_class(svg, "latency")) == 3
    # Each bracket runs from the caller's end down to the agent's start.
    path = by_class(svg, "latency")[0].find(f"{SVG_NS}path").get("d")
    xs = [float(x) for x in re.findall(r"[ML]([\d.]+),", path)]
    scale = timeline._Scale(16.0)
    assert xs[0] == scale.x(4.95) and xs[-1] == scale.x(5.67)


def test_barge_in_call_draws_each_clear_once_and_the_interruption():
    result = barge_in_call()
    result.clears.append(9.9)  # a second clear, after everything
    result.timeline.append(("clear", 9.9))
    svg = svg_of(render_timeline_html(result))
    assert len(by_class(svg, "clear")) == 2
    assert len(by_class(svg, "interrupted")) == 1
    assert len(by_class(svg, "barge-in")) == 1
    caller_bars = by_class(svg, "caller-bar")
    assert caller_bars[1].get("stroke") == "#d62728"  # the barge-in turn is outlined
    assert caller_bars[0].get("stroke") is None
    unplayed = by_class(svg, "unplayed")
    assert len(unplayed) == 1 and "unplayed" in "".join(unplayed[0].itertext())


def test_unanswered_turn_and_underruns_are_shown():
    html = render_timeline_html(underrun_call())
    svg = svg_of(html)
    assert [own_text(e) for e in by_class(svg, "lat")] == ["0.80 s"]
    assert [own_text(e) for e in by_class(svg, "lat-none")] == ["no answer"]
    underruns = by_class(svg, "underrun")
    assert len(underruns) == 2
    assert "250 ms" in "".join(underruns[1].itertext())
    # Three runs of audio but one utterance: the stutters are markers on one bar.
    assert len(by_class(svg, "agent-bar")) == 1
    assert 'class="unanswered"' in html


def test_no_answer_and_a_quick_next_answer_are_both_labelled_apart():
    result = make_call(
        says=[("hello? are you there?", 15.0, 16.1), ("bye", 16.3, 16.7)],
        segments=[(1.0, 3.0), (17.0, 17.5)],
        duration=18.2,
    )
    svg = svg_of(render_timeline_html(result))
    (no_answer,) = by_class(svg, "lat-none")
    (label,) = by_class(svg, "lat")
    assert own_text(label) == "0.30 s"
    # "no answer" steps aside (before the caller's end) rather than over the next bracket.
    assert no_answer.get("text-anchor") == "end"
    assert float(no_answer.get("x")) < timeline._Scale(18.2).x(16.1)


def test_events_marks_and_close_are_drawn():
    result = make_call(
        says=[("press five", 1.0, 2.0)],
        segments=[(2.5, 3.0)],
        marks=[("m0", 2.6, 3.0, True)],
        extra=[("dtmf", 4.0, "5"), ("timeout", 5.0, "WaitForAgentAudio()")],
        duration=6.0,
        closed_by="server",
    )
    svg = svg_of(render_timeline_html(result))
    assert len(by_class(svg, "mark-in")) == 1 and len(by_class(svg, "mark-echo")) == 1
    assert "DTMF 5" in texts(svg, "dtmf")[0]
    assert len(by_class(svg, "timeout")) == 1
    assert [own_text(e) for e in by_class(svg, "close-label")] == ["server closed (1000)"]


def test_turn_table_lists_every_turn_with_its_latency():
    html = render_timeline_html(barge_in_call())
    table = re.search(r'<table class="turns">.*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr.*?</tr>", table, re.S)[1:]
    assert len(rows) == 2
    assert "what are your hours" in rows[0] and "0.70 s" in rows[0]
    assert "wait stop" in rows[1] and "0.60 s" in rows[1] and "0.35 s" in rows[1]
    assert "p50 0.65 s" in html and "clears 1" in html


def test_user_text_is_escaped_and_the_svg_stays_well_formed():
    result = make_call(says=[('a < b & "c"', 1.0, 2.0)], segments=[(2.5, 3.0)], duration=4.0)
    html = render_timeline_html(result, agent_texts={0: "<b>bold</b> & more"})
    svg = svg_of(html)
    assert own_text(by_class(svg, "caller-text")[0]) == '“a < b & "c"”'
    assert own_text(by_class(svg, "agent-text")[0]) == "<b>bold</b> & more"
    assert "<b>bold" not in html


def test_axis_ticks_are_round_seconds_covering_the_call():
    svg = svg_of(render_timeline_html(three_turn_call()))  # 16 s
    ticks = [float(t) for t in texts(svg, "tick")]
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and step in (1, 2)
    assert ticks[-1] <= 16 < ticks[-1] + step
    short = make_call(says=[("hi", 0.2, 0.5)], segments=[(0.8, 1.4)], duration=1.5)
    assert texts(svg_of(render_timeline_html(short)), "tick")[:3] == ["0.0", "0.1", "0.2"]


def label_box(e: ET.Element) -> tuple[float, float, float]:
    """(left, right, baseline) of a latency label, by the renderer's own width estimate."""
    font = 10 if "compact" in e.get("class", "") else 12
    width = timeline._text_w(own_text(e), font, bold=True)
    x = float(e.get("x"))
    left = {"middle": x - width / 2, "end": x - width}.get(e.get("text-anchor"), x)
    return left, left + width, float(e.get("y")) + float(e.get("dy", 0))


def test_crowded_latency_labels_do_not_overlap():
    # Twelve quick exchanges on a long call: the brackets are narrower than their labels.
    says, segments, t = [], [], 1.0
    for i in range(12):
        says.append((f"question {i}", t, t + 0.6))
        segments.append((t + 0.6 + 0.3 + 0.1 * (i % 4), t + 1.8))
        t += 2.0 if i % 3 else 12.0
    svg = svg_of(render_timeline_html(make_call(says=says, segments=segments, duration=t)))
    brackets = by_class(svg, "latency")
    assert len(brackets) == 12
    # Every bracket tells its latency on hover, whether or not its label found room.
    assert all(re.search(r"latency 0\.\d00 s", "".join(b.itertext())) for b in brackets)
    boxes = [label_box(e) for e in by_class(svg, "lat")]
    assert len(boxes) >= 9  # the densest stretches may leave a bracket unlabelled
    assert all(left >= timeline._LEFT and right <= timeline._W for left, right, _ in boxes)
    for i, (l1, r1, y1) in enumerate(boxes):
        for l2, r2, y2 in boxes[i + 1 :]:
            assert y1 != y2 or r1 <= l2 or r2 <= l1, (boxes[i], (l2, r2, y2))


def test_write_timeline_html(tmp_path: Path):
    out = write_timeline(three_turn_call(), tmp_path / "call.html", title="t")
    assert out == tmp_path / "call.html"
    assert "0.72 s" in out.read_text(encoding="utf-8")


def test_png_without_chromium_says_to_use_html(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(timeline, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(TimelineError, match=r"\.html"):
        write_timeline(three_turn_call(), tmp_path / "call.png")
    assert not (tmp_path / "call.png").exists()


@pytest.mark.skipif(not Path(timeline.CHROMIUM).exists(), reason="Chromium is not installed")
def test_png_with_chromium(tmp_path: Path):
    out = write_timeline(barge_in_call(), tmp_path / "call.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == timeline.PAGE_WIDTH
