"""`GET /calls/{call_sid}/recording`: a call's recording (stereo WAV), behind ADMIN_TOKEN.

    200  audio/wav, the file as written so far (a live call's too: the header always
         describes complete audio), as an attachment named <CallSid>.wav
    404  no such call, or the call was not recorded (or its file is missing)
    410  RECORDING_RETENTION_DAYS deleted it (the record says when)

The same bearer token as the records API (agent/app/records_api.py): 401 without it, 404
for every route when ADMIN_TOKEN is unset. The path comes from the call's record, never
from the request, and recordings are never served by a static route.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from agent.app.records_api import authorized_runtime


async def get_recording(request: web.Request) -> web.StreamResponse:
    runtime = authorized_runtime(request)
    return await recording_response(runtime, request.match_info["call_sid"])


async def recording_response(runtime, call_sid: str) -> web.FileResponse:
    """The call's recording as a response (also the dashboard's, behind its login)."""
    call = await runtime.store.get_call(call_sid)
    if call is None:
        raise web.HTTPNotFound(text="no such call")
    recording = call["recording"]
    if recording is None:
        raise web.HTTPNotFound(text="this call was not recorded")
    if recording["deleted_at"]:
        raise web.HTTPGone(text=f"recording deleted at {recording['deleted_at']} (retention)")
    path = Path(recording["path"])
    if not path.is_file():
        raise web.HTTPNotFound(text="the recording's file is missing")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": f'attachment; filename="{call_sid}.wav"',
            "Cache-Control": "no-store",
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/calls/{call_sid}/recording", get_recording)
