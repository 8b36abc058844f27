"""TurnTracker on its own: the frame and event sequences a call produces (as observed at
the pipeline's end), in the orders pipecat delivers them."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)

from agent.nodes.params import LeadExtractionParams
from agent.records.extraction import Lead, merge, schema_model, transcript_text
from agent.records.turns import TurnTracker
from processors.frames import HeardTextFrame


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def tracked():
    clock = Clock()
    tracker = TurnTracker(now=clock)
    turns = []
    tracker.on_turn(turns.append)
    return tracker, clock, turns


def caller(tracker, clock, text, start=0.5, length=1.0):
    clock.t += start
    tracker.on_frame(VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=clock.t))
    clock.t += length
    tracker.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=clock.t))
    clock.t += 0.4
    tracker.caller_said(text)


def test_interrupted_reply_keeps_what_was_heard(tracked):
    tracker, clock, turns = tracked
    caller(tracker, clock, "what are your hours")
    tracker.llm_started()
    clock.t += 0.3
    tracker.on_frame(BotStartedSpeakingFrame())
    clock.t += 1.5
    # barge-in: the aggregator's event, then the pacer's heard text, then bot stopped
    tracker.llm_stopped("We open at nine. And we close", interrupted=True)
    tracker.on_frame(HeardTextFrame(text="We open at nine. And we", interrupted=True))
    tracker.on_frame(BotStoppedSpeakingFrame())
    caller_turn, agent = turns
    assert (caller_turn.role, caller_turn.text) == ("caller", "what are your hours")
    assert (caller_turn.ended_at - caller_turn.started_at).total_seconds() == pytest.approx(1.0)
    assert (agent.role, agent.source, agent.text) == (
        "agent",
        "llm",
        "We open at nine. And we close",
    )
    assert agent.interrupted and agent.heard_text == "We open at nine. And we"
    assert agent.latency_ms == pytest.approx(900, abs=1)  # VAD stop - stop_secs -> audio


def test_reply_split_by_a_playback_gap_is_one_turn(tracked):
    tracker, clock, turns = tracked
    caller(tracker, clock, "tell me more")
    tracker.llm_started()
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.on_frame(BotStoppedSpeakingFrame())  # the TTS fell behind: a gap
    assert len(turns) == 1  # the reply is not over while the LLM still streams
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.llm_stopped("First part. Second part.", interrupted=False)
    tracker.on_frame(BotStoppedSpeakingFrame())
    assert [t.text for t in turns] == ["tell me more", "First part. Second part."]
    assert turns[1].heard_text == turns[1].text and not turns[1].interrupted


def test_route_and_call_phrases_and_the_end_of_the_call(tracked):
    tracker, clock, turns = tracked
    tracker.on_frame(BotStartedSpeakingFrame())  # a greeting: no LLM, no route
    tracker.on_frame(BotStoppedSpeakingFrame())
    caller(tracker, clock, "")  # no words: no caller turn
    tracker.routed("pricing", "how much is it", "Twenty dollars.")
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.finish()  # the caller hangs up while the phrase plays
    assert [(t.role, t.source, t.text) for t in turns] == [
        ("agent", "call", ""),
        ("caller", "caller", "how much is it"),
        ("agent", "route", "Twenty dollars."),
    ]
    assert turns[2].route == "pricing" and turns[2].interrupted and turns[2].heard_text is None
    assert [t.seq for t in turns] == [0, 1, 2]


def test_a_key_press_is_a_caller_turn_and_the_answer_is_timed_from_it(tracked):
    tracker, clock, turns = tracked
    clock.t += 2.0
    tracker.keypad("5")
    tracker.llm_started()
    clock.t += 0.7
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.llm_stopped("You pressed five.", interrupted=False)
    tracker.on_frame(BotStoppedSpeakingFrame())
    press, answer = turns
    assert (press.role, press.source, press.text) == ("caller", "dtmf", "pressed 5")
    assert press.started_at == press.ended_at
    assert (answer.source, answer.text) == ("llm", "You pressed five.")
    assert answer.latency_ms == pytest.approx(700, abs=1)
    assert transcript_text(turns) == "Caller: pressed 5\nAgent: You pressed five."


def test_schemas_merge_and_transcript(tracked):
    assert schema_model("lead", None) is Lead
    params = LeadExtractionParams(
        schema_name="booking",
        fields={
            "party_size": {"type": "integer", "description": "people"},
            "allergies": {"type": "string_list", "description": "allergies"},
        },
    )
    model = schema_model(params.schema_name, params.fields)
    assert model.__name__ == "Booking"
    assert model(party_size=4).model_dump() == {"party_size": 4, "allergies": None}
    assert merge({"a": 1, "b": "x"}, {"a": None, "b": "y", "c": []}) == {"a": 1, "b": "y"}
    tracker, clock, turns = tracked
    caller(tracker, clock, "hi")
    assert transcript_text(turns) == "Caller: hi"


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"Bad Name": {"description": "x"}}, "identifier"),
        ({"x": {"type": "date", "description": "x"}}, "should be one of"),
        ({"x": {"type": "string"}}, "description"),
    ],
)
def test_bad_extraction_fields_are_refused(fields, problem):
    with pytest.raises(ValueError, match=problem):
        LeadExtractionParams(fields=fields)


def test_the_message_dialogs_questions_are_its_own_turns(tracked):
    tracker, clock, turns = tracked
    caller(tracker, clock, "Ann Smith")
    tracker.message_prompt()  # the dialog's on_prompt, before its reply frames
    tracker.llm_started()
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.llm_stopped("Should we call you back on this number?", interrupted=False)
    tracker.on_frame(BotStoppedSpeakingFrame())
    caller(tracker, clock, "what are your hours")
    tracker.llm_started()
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.llm_stopped("Nine to five.", interrupted=False)
    tracker.on_frame(BotStoppedSpeakingFrame())
    assert [(t.role, t.source) for t in turns] == [
        ("caller", "caller"),
        ("agent", "message"),
        ("caller", "caller"),
        ("agent", "llm"),
    ]


def test_what_the_call_controller_says_is_the_turns_text_without_any_context(tracked):
    """A goodbye from the audio cache after the LLM's end_call tool: no reply text, no route,
    no new message in the context (it never reached the aggregator), yet the words are known."""
    tracker, clock, turns = tracked
    caller(tracker, clock, "thank you very much goodbye")
    tracker.llm_started()
    tracker.llm_stopped("", interrupted=False)  # the reply was a tool call only
    tracker.call_said("Thanks for calling. Goodbye!")
    tracker.on_frame(BotStartedSpeakingFrame())
    clock.t += 1.2
    tracker.on_frame(BotStoppedSpeakingFrame())
    agent = turns[-1]
    assert (agent.role, agent.source, agent.text, agent.heard_text) == (
        "agent",
        "call",
        "Thanks for calling. Goodbye!",
        "Thanks for calling. Goodbye!",
    )


def test_the_tts_echo_of_the_controllers_words_is_not_taken_for_a_reply(tracked):
    tracker, clock, turns = tracked
    tracker.call_said("Thanks for calling Acme, goodbye!")  # not cached: the TTS speaks it
    tracker.llm_started()  # ...and the assistant aggregator sees its text, cut by the end
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.llm_stopped("Thanks for calling", interrupted=False)
    tracker.on_frame(BotStoppedSpeakingFrame())
    tracker.llm_started()
    tracker.on_frame(BotStartedSpeakingFrame())
    tracker.llm_stopped("Sure.", interrupted=False)  # a real reply, then, in the same run
    tracker.call_said("Goodbye!")  # of audio, the goodbye from the cache
    tracker.on_frame(BotStoppedSpeakingFrame())
    assert [(t.source, t.text) for t in turns] == [
        ("call", "Thanks for calling Acme, goodbye!"),
        ("llm", "Sure. Goodbye!"),
    ]


def test_an_acknowledgement_over_the_agent_is_a_caller_turn_of_its_own(tracked):
    from pipecat.frames.frames import UserBackchannelFrame

    tracker, clock, turns = tracked
    caller(tracker, clock, "what are your plans")
    tracker.llm_started()
    tracker.on_frame(BotStartedSpeakingFrame())
    clock.t += 3
    tracker.on_frame(VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=clock.t))
    clock.t += 0.5
    tracker.on_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=clock.t))
    tracker.on_frame(UserBackchannelFrame(text="Mm-hmm.", user_id="caller", timestamp="t"))
    clock.t += 5
    tracker.llm_stopped("We have three plans.", interrupted=False)
    tracker.on_frame(BotStoppedSpeakingFrame())
    question, ack, answer = turns
    assert (ack.role, ack.text, ack.source) == ("caller", "Mm-hmm.", "acknowledgement")
    assert (ack.ended_at - ack.started_at).total_seconds() == pytest.approx(0.5)
    assert (answer.text, answer.interrupted, answer.heard_text) == (
        "We have three plans.",
        False,
        "We have three plans.",
    )
    assert question.source == "caller"
