"""A campaign contact's states, and what the end of a call makes of it.

    pending    waiting for its next attempt (`next_attempt_at`: now, a retry, the window)
    dialing    claimed by a worker, committed BEFORE the REST request; no call sid yet
    calling    the call was created (its sid saved); waiting for Twilio's final status
    answered   the call completed and a person (or nobody said otherwise) answered
    voicemail  the call completed and answering-machine detection said a machine
    busy, no-answer   the last attempt's status, once no retry is left
    failed     Twilio could not place it, or the REST request failed (never retried)
    canceled   the call was canceled
    refused    never called: on the do-not-call list, or the dial was refused (a missing
               variable, an invalid number ...); `detail` says why
    unknown    left "dialing" by a worker that stopped before saving the call's sid, and
               Twilio could not be asked whether a call was made: the owner decides
               (`campaign status --results` lists it); never redialled blindly

A contact is called again only from `pending`; every other state but dialing and calling is
final.
"""

from __future__ import annotations

from agent.campaigns.retry import RetryPolicy

PENDING = "pending"
DIALING = "dialing"
CALLING = "calling"
ANSWERED = "answered"
VOICEMAIL = "voicemail"
BUSY = "busy"
NO_ANSWER = "no-answer"
FAILED = "failed"
CANCELED = "canceled"
REFUSED = "refused"
UNKNOWN = "unknown"

IN_FLIGHT = (DIALING, CALLING)
FINAL = frozenset({ANSWERED, VOICEMAIL, BUSY, NO_ANSWER, FAILED, CANCELED, REFUSED, UNKNOWN})
ALL = (PENDING, *IN_FLIGHT, *sorted(FINAL))

# A machine answered: the outbound seam's "machine", or Twilio's own AnsweredBy values.
MACHINE = frozenset(
    {
        "machine",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
    }
)


def final_state(status: str, answered_by: str | None) -> str:
    """The contact's final state for a call that ended `status` (Twilio's CallStatus)."""
    if status == "completed":
        return VOICEMAIL if answered_by in MACHINE else ANSWERED
    if status in (BUSY, NO_ANSWER, FAILED, CANCELED):
        return status
    return FAILED


def after_call(status: str, answered_by: str | None, attempts: int, policy: RetryPolicy) -> str:
    """pending (tried again) or the final state, for a call that ended `status`."""
    if policy.retries(status, attempts):
        return PENDING
    return final_state(status, answered_by)
