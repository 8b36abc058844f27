"""Calling lists: `python -m agent campaign run calls.csv --graph reminder ...`.

A campaign is a CSV of numbers (and each one's call variables) stored in the call-record
database, worked by one or more workers that place one call at a time per contact through
the outbound seam (agent/outbound/placing.py: `CallPlacer`, `CallOutcomes`, `DoNotCall`).

    contacts_csv   reading the CSV: rows, variables, time zones; precise errors per row
    window         the calling window in the callee's time zone: open now? next opening?
    retry          which outcomes are tried again, and when (backoff)
    states         a contact's states and what a call's outcome makes of it
    store          the campaign tables: create, claim (FOR UPDATE SKIP LOCKED), results
    capacity       MAX_CALLS together with inbound calls: the calls in progress now
    recovery       contacts left "dialing" by a stopped worker: ask Twilio, or "unknown"
    worker         the loop: claim, check, place, watch, record; stops cleanly on a signal
    results        the results CSV
    progress       the progress line on stderr
"""
