"""Outbound calls: the agent dials out.

    placing.py      the seam: DialRequest, PlacedCall, DialRefused, CallPlacer, CallOutcome,
                    CallOutcomes, DoNotCall (Protocols a campaign or a command binds to), and
                    phone-number normalisation (E.164)
    twilio_placer.py  the CallPlacer over Twilio's REST API: refuses do-not-call numbers and
                    missing/unknown graph variables, creates the call with inline TwiML (a
                    media stream with `direction=outbound`, the graph and the variables as
                    <Parameter>s), a signed status callback and asynchronous AMD, and writes
                    the call's record
    voicemail.py    person or answering machine: the deterministic classifier of a callee's
                    first words

The server's side of an outbound call (the status and AMD callbacks, `POST /calls`) is in
agent/app/outbound_routes.py; the agent's behaviour on the call (wait for the callee, leave
the voicemail) in processors/outbound_answer.py; the records (status history, AMD result,
the do-not-call list) in agent/records/outbound_store.py and agent/records/dnc.py.
"""
