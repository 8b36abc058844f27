"""`python -m agent calls [CALL_SID]`: the call records, read straight from DATABASE_URL.

Without a CALL_SID: the latest calls, one line each (filters: --graph, --outcome, --since,
--limit). With one: its transcript (who said what, when, what was heard of an interrupted
reply, which route answered, the turn's latency), its extracted record and the messages
taken for the owner (with their SMS's state). `--json` prints
what `GET /calls` / `GET /calls/{call_sid}` would answer. `--recording FILE` copies the
call's recording (a stereo WAV: caller left, agent right) to FILE (`-`: standard output),
as `GET /calls/{call_sid}/recording` would answer. Exit 1 when the call is unknown (or has
no recording to copy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from datetime import datetime

from agent.cli.common import load_config
from agent.errors import DatabaseUnreachable
from agent.records.store import Store
from agent.records.timestamps import parse_time


def _time(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


def format_list(calls: list[dict], total: int) -> str:
    lines = [
        f"{'started (UTC)':19}  {'call sid':34}  {'graph':14}  {'outcome':15}  {'secs':>6}  turns  from"
    ]
    for c in calls:
        started = (c["started_at"] or "")[:19].replace("T", " ")
        secs = f"{c['duration_s']:.1f}" if c["duration_s"] is not None else "live"
        lines.append(
            f"{started:19}  {c['call_sid']:34}  {c['graph']:14}  {c['outcome'] or '-':15}  "
            f"{secs:>6}  {c['turn_count']:>5}  {c['from'] or '-'}"
        )
    lines.append(f"({len(calls)} of {total} call(s))")
    return "\n".join(lines)


def format_call(call: dict) -> str:
    start = _time(call["started_at"])
    lines = [
        f"call {call['call_sid']}  graph {call['graph']}  from {call['from'] or '-'}  "
        f"to {call['to'] or '-'}",
        f"started {call['started_at']}  ended {call['ended_at'] or '(not ended)'}  "
        f"outcome {call['outcome'] or '-'}"
        + (f" ({call['end_reason']})" if call.get("end_reason") else ""),
        "",
    ]
    if call.get("direction") == "outbound":  # the agent's own call (README, Calling out)
        answered = call.get("answered_by") or "-"
        why = f" ({call['answered_reason']})" if call.get("answered_reason") else ""
        lines.insert(2, f"outbound: {call.get('call_status') or '-'}, answered by {answered}{why}")
    for t in call["turns"]:
        at = _time(t["started_at"])
        offset = f"{(at - start).total_seconds():6.1f}s" if at and start else "      ?"
        who = "caller" if t["role"] == "caller" else "agent "
        notes = []
        if t["source"] == "route":
            notes.append(f"[route {t['route']}]")
        elif t["source"] in ("llm", "message"):
            notes.append(f"[{t['source']}]")
        if t["latency_ms"] is not None:
            notes.append(f"[{t['latency_ms']:.0f} ms]")
        if t["interrupted"]:
            notes.append(f'[interrupted; heard: "{t["heard_text"] or ""}"]')
        lines.append(f"{offset}  {who}  {t['text']}  {' '.join(notes)}".rstrip())
    lines.append("")
    if call["extraction"]:
        lines.append("extracted:")
        for key, value in call["extraction"].items():
            if value is not None:
                lines.append(f"  {key}: {value}")
    if call["extraction_error"]:
        lines.append(f"extraction failed: {call['extraction_error']}")
    for transfer in call.get("transfers") or ():
        lines.append(format_transfer(transfer))
    recording = call.get("recording")
    if recording and recording["deleted_at"]:
        lines.append(f"recording: deleted at {recording['deleted_at']} (retention)")
    elif recording:
        length = recording["duration_s"]
        seconds = f"{length:.1f} s" if length is not None else "not finished"
        lines.append(f"recording: {recording['path']} ({seconds})")
    for message in call.get("messages", []):
        lines += format_message(message)
    return "\n".join(lines)


def format_transfer(t: dict) -> str:
    """One transfer to a person: where, which way in, how the dial went."""
    answered = t["status"] == "completed"
    outcome = "answered" if answered else t["status"]
    if answered and t["dial_duration_s"] is not None:
        outcome += f", talked {t['dial_duration_s']:.0f}s"
    why = f" ({t['reason']})" if t["reason"] else ""
    return f"transfer to {t['destination']} via {t['via']}{why}: {outcome}"


def copy_recording(call: dict, target: str) -> int:
    """Copy the call's recording to `target` ("-": stdout); 1 with a message if there is none."""
    recording = call.get("recording")
    problem = None
    if recording is None:
        problem = "was not recorded"
    elif recording["deleted_at"]:
        problem = f"has no recording any more (deleted at {recording['deleted_at']})"
    else:
        try:
            with open(recording["path"], "rb") as source:
                if target == "-":
                    shutil.copyfileobj(source, sys.stdout.buffer)
                else:
                    with open(target, "wb") as out:
                        shutil.copyfileobj(source, out)
        except FileNotFoundError:
            problem = f"has a recording whose file is missing ({recording['path']})"
    if problem:
        print(f"call {call['call_sid']} {problem}", file=sys.stderr)
        return 1
    if target != "-":
        print(f"wrote {target} ({recording['duration_s'] or 0:.1f} s, stereo: caller left)")
    return 0


def format_message(message: dict) -> list[str]:
    """A message for the owner: who, which number, about what, and how its SMS went."""
    sms = message["sms"]
    check = "confirmed" if message["confirmed"] else "NOT confirmed"
    lines = [
        f"message {message['id']} ({message['reason']}, {message['taken_at']}):",
        f"  name: {message['name'] or '-'}",
        f"  call back on: {message['callback_number'] or '-'} ({check})",
        f"  about: {message['about'] or '-'}",
    ]
    if sms["status"] == "none":
        lines.append("  sms: none (no owner number)")
    else:
        state = f"  sms to {sms['to']}: {sms['status']} after {sms['attempts']} attempt(s)"
        if sms["sid"]:
            state += f" ({sms['sid']})"
        if sms["error"] and sms["status"] != "sent":
            state += f"; last error: {sms['error']}"
        lines.append(state)
    return lines


async def _run(args, database_url: str, wait_s: float) -> int:
    try:
        since = parse_time(args.since, "--since") if args.since else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.recording and not args.call_sid:
        print("--recording needs a CALL_SID", file=sys.stderr)
        return 2
    try:
        store = await Store.open(database_url, connect_timeout_s=wait_s)
    except DatabaseUnreachable as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        if args.call_sid:
            call = await store.get_call(args.call_sid)
            if call is None:
                print(f"no call {args.call_sid} in the database")
                return 1
            if args.recording:
                return copy_recording(call, args.recording)
            print(json.dumps(call, indent=2) if args.json else format_call(call))
            return 0
        calls, total = await store.list_calls(
            limit=args.limit,
            graph=args.graph,
            outcome=args.outcome,
            since=since,
        )
        if args.json:
            print(json.dumps({"calls": calls, "total": total}, indent=2))
        else:
            print(format_list(calls, total))
        return 0
    finally:
        await store.close()


def main(args: argparse.Namespace) -> int:
    """`python -m agent calls`."""
    config = load_config()
    return asyncio.run(_run(args, config.database_url.reveal(), config.database_wait_seconds))


def add_arguments(calls: argparse.ArgumentParser) -> None:
    calls.add_argument("call_sid", nargs="?", help="a call's CallSid: print its transcript")
    calls.add_argument("--limit", type=int, default=20, help="calls listed (default 20)")
    calls.add_argument("--graph", help="only calls through this graph")
    calls.add_argument("--outcome", help="only calls that ended so (e.g. caller_hung_up)")
    calls.add_argument("--since", help="only calls started at or after (ISO date/time, UTC)")
    calls.add_argument("--json", action="store_true", help="print JSON, as the HTTP API does")
    calls.add_argument(
        "--recording",
        metavar="FILE",
        help="with a CALL_SID: copy its recording (stereo WAV) to FILE ('-': standard output)",
    )
