"""agent/adapters/cartesia.py: a burst of Cartesia chunks is handed on in fewer, larger frames.

Against pipecat's own AudioContextManager: chunks still waiting in a context's queue join the
last waiting audio frame (up to 200 ms), never across a non-audio item, never past a split
sample; played out, the audio is byte for byte what arrived, in order."""

from __future__ import annotations

import os

from pipecat.frames.frames import TTSAudioRawFrame, TTSStoppedFrame
from pipecat.utils.context.audio_context_manager import AudioContextManager

from agent.adapters.cartesia import join_waiting_audio

RATE = 8000
CHUNK = 320  # 20 ms of 16-bit audio at 8 kHz


def chunk(data: bytes, ctx: str = "ctx") -> TTSAudioRawFrame:
    return TTSAudioRawFrame(audio=data, sample_rate=RATE, num_channels=1, context_id=ctx)


async def append(manager: AudioContextManager, item, ctx: str = "ctx") -> None:
    """What the service does: join audio if it can, else pipecat's own append."""
    if not (isinstance(item, TTSAudioRawFrame) and join_waiting_audio(manager, ctx, item)):
        await manager.append(ctx, item)


async def drain(manager: AudioContextManager, ctx: str = "ctx") -> list:
    items = []
    while (item := await manager.get(ctx, timeout=0.1)) is not None:
        items.append(item)
        if isinstance(item, TTSStoppedFrame):
            break
    return items


async def test_waiting_chunks_join_up_to_200_ms_and_play_out_unchanged():
    manager = AudioContextManager()
    await manager.create("ctx")
    sent = [os.urandom(CHUNK) for _ in range(25)]  # 500 ms arriving at once
    for data in sent:
        await append(manager, chunk(data))
    await append(manager, TTSStoppedFrame(context_id="ctx"))
    items = await drain(manager)
    audio = [i for i in items if isinstance(i, TTSAudioRawFrame)]
    assert [len(a.audio) for a in audio] == [3200, 3200, 1600]
    assert all(a.num_frames == len(a.audio) // 2 for a in audio)
    assert b"".join(a.audio for a in audio) == b"".join(sent)
    assert isinstance(items[-1], TTSStoppedFrame)


async def test_a_chunk_that_finds_the_queue_empty_goes_on_alone():
    manager = AudioContextManager()
    await manager.create("ctx")
    first = os.urandom(CHUNK)
    await append(manager, chunk(first))
    [taken] = [await manager.get("ctx", timeout=0.1)]  # played out before the next arrives
    second = os.urandom(CHUNK)
    await append(manager, chunk(second))
    assert taken.audio == first
    assert (await manager.get("ctx", timeout=0.1)).audio == second


async def test_no_join_across_other_items_or_split_samples():
    manager = AudioContextManager()
    await manager.create("ctx")
    a, b, c, d = (os.urandom(n) for n in (CHUNK, CHUNK, CHUNK + 1, CHUNK))
    await append(manager, chunk(a))
    await append(manager, TTSStoppedFrame(context_id="ctx"))  # not audio: b cannot join a
    await append(manager, chunk(b))
    await append(manager, chunk(c))  # odd length: pipecat carries its last byte forward
    await append(manager, chunk(d))  # ...so d must not join past that split sample
    await append(manager, TTSStoppedFrame(context_id="ctx"))  # the held byte, zero-padded
    items = (await drain(manager)) + (await drain(manager))  # up to each stop frame
    audio = b"".join(i.audio for i in items if isinstance(i, TTSAudioRawFrame))
    assert isinstance(items[1], TTSStoppedFrame) and items[0].audio == a
    assert audio == a + b + c + d + b"\x00"  # nothing lost or reordered


async def test_queued_items_are_taken_at_once_and_keepalives_skipped():
    # pipecat fetches every item through asyncio.wait_for (a task, two loop iterations) even
    # when it is already waiting; what is queued is taken at once instead.
    from agent.adapters.cartesia import NOTHING_WAITING, take_waiting_item

    manager = AudioContextManager()
    await manager.create("ctx")
    assert take_waiting_item(manager, "ctx") is NOTHING_WAITING  # empty: wait pipecat's way
    first, second = chunk(os.urandom(CHUNK)), chunk(os.urandom(CHUNK))
    await manager.append("ctx", first)
    manager.keepalive("ctx")
    await manager.append("ctx", second)
    await manager.append("ctx", None)  # the context's end
    taken = [take_waiting_item(manager, "ctx") for _ in range(4)]
    assert taken == [first, second, None, NOTHING_WAITING]
    assert take_waiting_item(manager, "gone") is NOTHING_WAITING


async def test_a_chunk_read_before_a_barge_in_is_dropped_after_its_wait():
    # The reader waited for room in the pacer; meanwhile the caller barged in and the context
    # was cancelled. The chunk must not revive the context (pipecat recreates a missing
    # context for the turn's id), or stale audio would play after the barge-in.
    import asyncio

    from agent.adapters.cartesia import ResilientCartesiaTTSService as service_class

    service = service_class(
        api_key="k",
        url="ws://127.0.0.1:9/tts/websocket",
        sample_rate=RATE,
        encoding="pcm_s16le",
        container="raw",
        settings=service_class.Settings(voice="v", model="sonic", language="en"),
    )

    class Pacer:
        def __init__(self):
            self.room = asyncio.Event()
            self.reserved = 0

        async def wait_for_room(self):
            await self.room.wait()

        def reserve(self, nbytes):
            self.reserved += nbytes

    pacer = Pacer()
    service.read_at_pace_of(pacer)
    await service.create_audio_context("ctx")
    service._turn_context_id = "ctx"  # mid-turn, as when Cartesia is still sending
    reading = asyncio.ensure_future(service.append_to_audio_context("ctx", chunk(bytes(CHUNK))))
    await asyncio.sleep(0.01)
    assert not reading.done()  # held until the pacer has room
    service._audio_context_manager.remove("ctx")  # the barge-in cancels the context
    pacer.room.set()
    await reading
    assert not service.audio_context_available("ctx") and pacer.reserved == 0
    # With room and a live context, a chunk is reserved and queued.
    await service.create_audio_context("next")
    await service.append_to_audio_context("next", chunk(bytes(CHUNK)))
    assert pacer.reserved == CHUNK
