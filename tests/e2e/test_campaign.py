"""A calling list end to end: `python -m agent campaign run` as a process, against a server,
the Twilio fake and the emulator as every callee.

Twenty numbers with the reminder graph at concurrency 5: two busy at first (answered on the
retry), one on the do-not-call list, one outside its window, one without the name the graph
requires (refused by name), the rest answered, each call carrying its own row's variables
(each callee picks up and hangs up: the conversation itself is test_outbound_call.py's).
SIGTERM half-way, then `campaign resume`: each contact ends with the right outcome, and each
number is called exactly as many times as it has attempts (nobody twice for one attempt).
"""

import asyncio
import csv
import os
import re
import signal
import sys
from datetime import UTC, datetime

from agent.records.dnc import DncList
from agent.records.store import Store
from agent.sim.outbound import Callee
from tests.conftest import ROOT, server_env

ADMIN = "campaign-admin-token-123"
FROM = "+15550009999"


def _window_around_now() -> str:
    """A window open now in UTC (three hours either side), closed twelve hours away."""
    hour = datetime.now(UTC).hour
    return f"{(hour - 3) % 24:02d}:00-{(hour + 4) % 24:02d}:00"


async def _campaign(env, *args) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        "campaign",
        *args,
        cwd=env["_CWD"],
        env={k: v for k, v in env.items() if k != "_CWD"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_calling_list_stopped_half_way_and_resumed_calls_nobody_twice(
    fakes, start_server, tmp_path
):
    db = f"sqlite:///{tmp_path}/calls.db"
    server = await start_server(DATABASE_URL=db, ADMIN_TOKEN=ADMIN, FROM_NUMBER=FROM)
    emulator = server.emulator()
    fakes.twilio.outbound = emulator
    numbers = [f"+1555300{i:04d}" for i in range(20)]
    busy, dnc, outside, nameless = numbers[3:5], numbers[7], numbers[11], numbers[15]
    person = Callee(after_s=0.3, hang_up_after_s=0.3)  # picks up, hangs up
    for number in numbers:
        emulator.callees_by_number[number] = [person]
    for number in busy:
        emulator.callees_by_number[number] = [Callee("busy", after_s=0.2), person]
    store = await Store.open(db)
    await DncList(store.engine).add(dnc, "cli")
    calls_csv = tmp_path / "calls.csv"
    rows = [
        f"{n},{'' if n == nameless else f'N{i}'},{i} pm,{'Etc/GMT-12' if n == outside else ''}"
        for i, n in enumerate(numbers)
    ]
    calls_csv.write_text("number,name,time,timezone\n" + "\n".join(rows) + "\n")
    env = server_env(fakes.env(), DATABASE_URL=db, FROM_NUMBER=FROM, LOG_LEVEL="WARNING")
    env |= {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "_CWD": str(tmp_path)}
    results = tmp_path / "results.csv"
    common = ["--results", str(results), "--max-wait", "60"]

    most_live = 0

    async def watch_live() -> None:
        nonlocal most_live
        while True:
            live = sum(1 for leg in emulator.legs if not leg.done.is_set())
            most_live = max(most_live, live)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch_live())
    try:
        run = await _campaign(
            env,
            "run",
            str(calls_csv),
            "--graph",
            "reminder",
            "--concurrency",
            "5",
            "--window",
            _window_around_now(),
            "--retry-after",
            "1",
            *common,
        )
        while len(fakes.twilio.created_calls) < 8:
            assert run.returncode is None, (await run.stderr.read()).decode()
            await asyncio.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(run.communicate(), 60)
        assert run.returncode == 3, err.decode()
        assert "call(s) in progress left for" in out.decode()  # resume adopts them
        assert "calls.csv: 1 number(s) on the do-not-call list, not to be called (line 9)" in (
            err.decode()
        )
        campaign_id = re.search(r"campaign (\w+): 20 contact", err.decode()).group(1)
        stopped_at = len(fakes.twilio.created_calls)
        assert stopped_at < 22  # stopped half-way

        resume = await _campaign(env, "resume", campaign_id, *common)
        out, err = await asyncio.wait_for(resume.communicate(), 120)
        assert resume.returncode == 0, err.decode()
        assert "next call due" in out.decode()  # the one outside its window, tomorrow
        await asyncio.wait_for(asyncio.gather(*(leg.done.wait() for leg in emulator.legs)), 30)
    finally:
        watcher.cancel()
        await store.close()

    table = {row["number"]: row for row in csv.DictReader(results.open())}
    placed: dict[str, int] = {}
    for call in fakes.twilio.created_calls:
        placed[call.value("To")] = placed.get(call.value("To"), 0) + 1
    for number in numbers:
        row = table[number]
        assert int(row["attempts"]) == placed.get(number, 0), (number, row)
        if number in busy:
            assert (row["state"], row["attempts"]) == ("answered", "2"), row
        elif number == dnc:
            assert (row["state"], row["outcome"], row["attempts"]) == (
                "refused",
                "do_not_call",
                "0",
            )
        elif number == nameless:  # the reminder graph requires a name
            assert (row["state"], row["outcome"], row["attempts"]) == (
                "refused",
                "missing_variable",
                "0",
            )
            assert "needs the variable 'name'" in row["detail"]
        elif number == outside:
            assert (row["state"], row["attempts"]) == ("pending", "0")
            assert row["next_attempt_at"]
        else:
            assert (row["state"], row["attempts"], row["outcome"]) == (
                "answered",
                "1",
                "completed",
            ), row
            assert row["call_sid"].startswith("CA")
    assert sum(placed.values()) == 17 + 2  # 17 called, the two busy ones twice
    for call in fakes.twilio.created_calls:  # each row's variables, on its own call
        i = numbers.index(call.value("To"))
        assert f'name="var.name" value="N{i}"' in call.value("Twiml")
        assert f'name="var.time" value="{i} pm"' in call.value("Twiml")
    assert most_live <= 5
