"""The brief the person hears (agent/app/warm_brief.py): who, then why."""

from agent.app.warm_brief import brief_text, caller_words


def test_name_and_intent_from_the_extraction_come_first():
    text = brief_text(
        "+15550001111",
        {"name": "Ann Smith", "intent": "a refund for order 42"},
        ["I want my money back", "can I talk to someone"],
        "route human",
    )
    assert text == "Hi, I have Ann Smith on hold for you. It's about: a refund for order 42."


def test_without_extraction_the_number_and_the_callers_last_words():
    text = brief_text("+15550001111", None, ["Hello.", "My order from last week is late."], "")
    assert text.startswith(
        "Hi, I have a caller from plus one, five five five, zero zero zero, one one one one"
    )
    assert text.endswith('They said: "Hello. My order from last week is late."')


def test_long_talk_is_cut_to_the_last_words():
    turns = ["word " * 25, "the printer is on fire " * 3]
    text = brief_text(None, {}, turns)
    assert "a caller whose number is withheld" in text
    assert text.count("printer") == 3 and "word word" not in text


def test_the_llm_tools_reason_when_nothing_else_is_known_but_not_a_keypress():
    assert brief_text(None, None, [], "billing question").endswith("It's about: billing question.")
    assert brief_text(None, None, [], "pressed 0") == (
        "Hi, I have a caller whose number is withheld on hold for you."
    )


def test_caller_words_skip_keypad_notes_and_assistant_turns():
    messages = [
        {"role": "assistant", "content": "Hi"},
        {"role": "user", "content": "It's about my bill"},
        {"role": "user", "content": "The caller pressed 5 on the keypad."},
        {"role": "user", "content": [{"type": "text", "text": "and my address"}]},
    ]
    assert caller_words(messages) == ["It's about my bill", "and my address"]


def test_what_the_person_hears_besides_the_brief_is_in_the_audio_cache():
    from pathlib import Path

    from agent.app import warm_leg
    from agent.phrases.routes import load_routes

    root = Path(__file__).resolve().parents[2]
    routes = load_routes(root / "audio_cache" / "routes.yaml")
    texts = set(routes.all_phrases().values())
    for text in (warm_leg.ASK, warm_leg.CONNECTING, warm_leg.DECLINED, warm_leg.CALLER_LEFT):
        assert text in texts, text
