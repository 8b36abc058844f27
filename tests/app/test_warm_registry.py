"""The warm transfer state machine (agent/app/warm_registry.py): pure state, no clock."""

import pytest

from agent.app.warm_registry import WarmTransfers


def opened(registry=None):
    registry = WarmTransfers() if registry is None else registry
    transfer = registry.open(
        call_sid="CA1",
        account_sid="AC1",
        graph="receptionist",
        destination="front_desk",
        to="+15550003333",
        from_="+15550002222",
        brief="Hi",
        accept_timeout_s=20,
    )
    seen = []
    transfer.on_change(lambda t, state: seen.append(state))
    return registry, transfer, seen


def test_ids_and_conference_names_are_fresh_and_unguessable():
    registry = WarmTransfers()
    a, b = opened(registry)[1], opened(registry)[1]
    assert a.id != b.id and a.conference != b.conference
    assert len(a.id) >= 24 and a.conference.startswith("sb-") and len(a.conference) >= 24
    assert registry.get(a.id) is a and registry.get("nope") is None and registry.get(None) is None
    registry.close(a.id)
    assert registry.get(a.id) is None and len(registry) == 1


def test_the_accepted_path_and_listeners_in_order():
    _, transfer, seen = opened()
    assert transfer.advance("ringing") and transfer.advance("briefing")
    assert transfer.advance("accepted")
    assert seen == ["ringing", "briefing", "accepted"] and transfer.decided
    assert transfer.history == ["dialing", "ringing", "briefing", "accepted"]


@pytest.mark.parametrize("final", ["declined", "timeout", "failed"])
def test_a_decision_is_final_and_the_first_one_wins(final):
    _, transfer, seen = opened()
    transfer.advance("briefing")
    assert transfer.advance(final)
    for late in ("accepted", "caller_hung_up", "no-answer", "ringing"):
        assert not transfer.advance(late)
    assert transfer.state == final and seen == ["briefing", final]


def test_ringing_ends_unanswered_and_illegal_moves_are_ignored():
    _, transfer, seen = opened()
    assert not transfer.advance("accepted")  # nobody answered yet: nothing to accept
    assert not transfer.advance("timeout")
    assert transfer.advance("ringing")
    assert not transfer.advance("dialing")  # no way back
    assert transfer.advance("no-answer")
    assert seen == ["ringing", "no-answer"]


def test_the_caller_hanging_up_ends_it_from_any_undecided_state():
    for steps in ([], ["ringing"], ["ringing", "briefing"]):
        _, transfer, _ = opened()
        for step in steps:
            transfer.advance(step)
        assert transfer.advance("caller_hung_up")
        assert not transfer.advance("accepted")


def test_a_failing_listener_does_not_stop_the_others():
    _, transfer, seen = opened()

    def broken(_t, _s):
        raise RuntimeError("bug")

    transfer._listeners.insert(0, broken)
    assert transfer.advance("ringing")
    assert seen == ["ringing"]
