"""pipecat's event handlers, for our own processors' events.

pipecat's `BaseObject` lets anyone subscribe to an object's events with the public
`add_event_handler(name, handler)` / `@obj.event_handler(name)`, but declaring an event and
firing it are its protected `_register_event_handler(name, sync=False)` and
`_call_event_handler(name, *args)`, which pipecat's own processors call on themselves. Our
processors that offer events (the router's `on_route`, the heard-context editor's
`on_context_edited`, ...) go through these two functions, so a rename in pipecat is one
edit here (tests/adapters/test_events.py holds the signatures).
"""

from __future__ import annotations

from pipecat.utils.base_object import BaseObject


def declare_event(owner: BaseObject, name: str, *, sync: bool = False) -> None:
    """Declare event `name` on `owner`, so handlers can be added to it; `sync` handlers run
    in the firing task instead of a task each."""
    owner._register_event_handler(name, sync)


async def fire_event(owner: BaseObject, name: str, *args, **kwargs) -> None:
    """Call every handler of `owner`'s event `name` with `owner` and `args`."""
    await owner._call_event_handler(name, *args, **kwargs)
