"""A campaign call whose final status callback never reached the server (it was down): the
worker asks Twilio over the real REST client (the Twilio fake, the emulator playing the
call), records what Twilio says as the callback would have, and the contact gets its
outcome instead of `unknown` hours later."""

import asyncio
from datetime import UTC, datetime

from agent.campaigns.binding import bound
from agent.campaigns.contacts_csv import Contact
from agent.campaigns.store import contact_rows, create_campaign, get_campaign
from agent.campaigns.worker import CampaignWorker
from agent.records.store import Store
from agent.sim.outbound import Callee
from tests.campaigns.fakes import reminder_settings

NUMBER = "+15553000001"


async def test_a_lost_final_callback_is_asked_of_twilio(fakes, start_server, tmp_path):
    db = f"sqlite:///{tmp_path}/calls.db"
    server = await start_server(DATABASE_URL=db, FROM_NUMBER="+15550009999")
    emulator = server.emulator()
    fakes.twilio.outbound = emulator
    emulator.callees = [Callee(after_s=0.3, hang_up_after_s=0.5, lost_callbacks=("completed",))]
    store = await Store.open(db)
    try:
        contact = Contact(2, NUMBER, {"name": "Ann", "time": "3 pm"}, None)
        cid = await create_campaign(store.engine, reminder_settings(), [contact], datetime.now(UTC))
        campaign = await get_campaign(store.engine, cid)
        async with bound(server.config, store, "reminder") as deps:
            worker = CampaignWorker(
                campaign, deps, ask_twilio_after_s=3, ask_twilio_every_s=1, max_wait_s=5
            )
            result = await asyncio.wait_for(worker.run(), 60)
        assert result.finished
        [row] = await contact_rows(store.engine, cid)
        assert (row["state"], row["outcome"]) == ("answered", "completed")
        [leg] = emulator.legs
        assert ("completed", 0) in leg.callbacks  # the final callback never arrived
        asked = [r for r in fakes.twilio.requests if r.method == "GET" and leg.call_sid in r.path]
        assert asked and all(r.status == 200 for r in asked)
        call = await store.get_call(leg.call_sid)
        assert call["call_status"] == "completed"
        assert [e["status"] for e in call["status_history"] if e["kind"] == "status"][-1] == (
            "completed"
        )
    finally:
        await store.close()
