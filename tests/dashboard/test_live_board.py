"""The live board: one per process, fed by call sessions, each change encoded once for every
viewer; a new viewer starts from a snapshot; a slow viewer is dropped, not buffered; the
number of viewers is capped. And a watcher that raises never reaches the call."""

from __future__ import annotations

import json

from agent.app.call_watch import WatchedCall, notify
from agent.dashboard.live import LiveBoard
from agent.records.turns import Turn

CALL = WatchedCall("CA1", "receptionist", "+15550001111", "+15550002222", 1000.0, ("desk",))


def _events(queue) -> list[tuple[str, dict]]:
    found = []
    while not queue.empty():
        raw = queue.get_nowait()
        if raw is None:
            found.append(("closed", {}))
            continue
        name, data = raw.decode().strip().split("\n")
        found.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return found


def _turn(seq: int, text: str = "hello") -> Turn:
    return Turn(seq, "agent", text, None, None, heard_text="hel", interrupted=True, source="llm")


def test_viewers_get_a_snapshot_then_each_change():
    board = LiveBoard()
    board.call_started(CALL)  # no viewer yet: nothing encoded
    board.call_turn("CA1", _turn(0))
    viewer = board.subscribe()
    [(name, snapshot)] = _events(viewer)
    assert name == "snapshot" and snapshot["calls"][0]["call_sid"] == "CA1"
    assert snapshot["calls"][0]["turns"][0]["heard_text"] == "hel"
    assert snapshot["calls"][0]["transfers"] == ["desk"]
    board.call_turn("CA1", _turn(1, "<b>bye</b>"))
    board.call_turn("CAother", _turn(0))  # not a live call here: ignored
    board.call_ended("CA1", "ended_by_operator")
    assert _events(viewer) == [
        ("turn", {"call_sid": "CA1", "turn": {**_events_turn(1, "<b>bye</b>")}}),
        ("ended", {"call_sid": "CA1", "outcome": "ended_by_operator"}),
    ]
    assert board.calls == {}


def _events_turn(seq, text):
    return {
        "seq": seq,
        "role": "agent",
        "text": text,
        "heard_text": "hel",
        "interrupted": True,
        "source": "llm",
        "route": None,
        "latency_ms": None,
        "failure": None,
    }


def test_a_slow_viewer_is_dropped_and_viewers_are_capped():
    board = LiveBoard(max_viewers=2, queue_events=3)
    slow, quick = board.subscribe(), board.subscribe()
    assert board.subscribe() is None  # the cap
    board.call_started(CALL)
    _events(quick)
    for seq in range(3):
        board.call_turn("CA1", _turn(seq))
        _events(quick)
    assert _events(slow) == [("closed", {})]  # dropped: its stream ends, the browser reconnects
    assert board.viewers == 1 and board.dropped_viewers == 1
    assert board.subscribe() is not None  # room again


def test_a_failing_watcher_never_reaches_the_call():
    class Broken:
        def call_started(self, call):
            raise RuntimeError("boom")

    board = LiveBoard()
    notify([Broken(), board], lambda w: w.call_started(CALL))
    assert "CA1" in board.calls


def test_live_turns_are_redacted_like_the_record_when_asked():
    board = LiveBoard(redact=lambda text: text.replace("555 0100", "[phone]"))
    board.call_started(CALL)
    board.call_turn("CA1", Turn(0, "caller", "call me on 555 0100", None, None))
    board.call_turn("CA1", _turn(1, "so 555 0100?"))
    assert [t["text"] for t in board.calls["CA1"].turns] == ["call me on [phone]", "so [phone]?"]
