"""Pydantic models of a graph file, exactly as written (before `${env:...}` substitution).

    GraphFile
    ├── name, description
    ├── call: CallSettings          call-level behaviour (greeting, limits, idle prompts)
    ├── chain: [ChainItem]          a node name, or ParallelBlock {parallel: [[...], [...]]}
    ├── taps: [node name]           observers that get copies of frames
    ├── nodes: {name: NodeSpec}     type + replace_with + the type's own params
    ├── numbers: [E.164]            the phone numbers this graph answers (agent/graph/lines.py)
    ├── hours: HoursSettings        business hours and what happens outside them
    │                               (read and checked in agent/graph/hours_read.py)
    ├── transfer: {name: TransferDestination}   people a call may be put through to
    ├── messages: MessagesSettings  taking messages for the owner (optional)
    └── vars: {name: VarSpec}       the call variables an outbound call brings
                                    (`${call.vars.NAME}` in greeting, voicemail, prompt)

A node is written flat (`{type: silero_vad, stop_secs: 0.2}`), so NodeSpec gathers every key
other than `type` and `replace_with` into `params`; those are checked later against the
node type's own Params model (validate.py), which is where unknown keys are caught.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
    model_validator,
)

# Node names become Python-ish identifiers in drawings and logs; keeping them snake_case
# also means they can never collide with the pydantic union tags used below.
NODE_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
GRAPH_NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
# Names the drawings use for the transport ends.
RESERVED_NODE_NAMES = frozenset({"in", "out"})

# Union tags for chain items; they show up in pydantic error locations, which
# validate.py strips again (they are not keys the user wrote).
NAME_TAG = "NodeName"
PARALLEL_TAG = "ParallelBlock"


DTMF_ACTIONS = ("none", "hang_up", "transfer")


class DtmfAction(BaseModel):
    """What a keypad digit does: say a phrase, hang up, or transfer the call to a person.

    Shorthands: `"0": transfer` (the graph's first destination), `"0": {transfer: sales}`,
    `"9": hang_up`.
    """

    model_config = ConfigDict(extra="forbid")

    say: str | None = Field(None, description="Phrase the agent speaks when the digit is pressed.")
    action: str = Field(
        "none",
        description="'none', 'hang_up' (after saying `say`, else the goodbye) or 'transfer' "
        "(to `destination`, after the graph's transfer phrase).",
        json_schema_extra={"enum": list(DTMF_ACTIONS)},
    )
    destination: str | None = Field(
        None,
        description="For action 'transfer': a name under the graph's `transfer:` "
        "(default: its first destination).",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str) and data in DTMF_ACTIONS:
            return {"action": data}
        if isinstance(data, dict) and "transfer" in data and "action" not in data:
            rest = dict(data)
            destination = rest.pop("transfer")
            return {**rest, "action": "transfer", "destination": destination}
        return data

    @model_validator(mode="after")
    def _known_action(self) -> DtmfAction:
        if self.action not in DTMF_ACTIONS:
            raise ValueError(
                f"action should be 'none', 'hang_up' or 'transfer', not {self.action!r}"
            )
        if self.action == "none" and not self.say:
            raise ValueError("a digit with action 'none' needs something to `say`")
        if self.destination is not None and self.action != "transfer":
            raise ValueError("`destination` is only for action 'transfer'")
        return self


class TransferDestination(BaseModel):
    """A person (a phone number) a call may be put through to: a cold transfer with <Dial>,
    or with `warm`, a warm one (the caller holds while the agent calls and briefs the person,
    who accepts or declines; agent/app/warm_transfer.py)."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(
        description='The number dialled, usually "${env:TRANSFER_NUMBER|}". Empty: this '
        "destination is off (its route, keypad digit and LLM tool option do nothing)."
    )
    ring_timeout_s: int = Field(
        20, ge=5, le=600, description="Seconds it rings before the transfer counts as unanswered."
    )
    caller_id: str | None = Field(
        None,
        description="The number the person sees calling (a Twilio number of yours); "
        "default: the number the caller called.",
    )

    warm: Annotated[
        bool,
        WithJsonSchema(
            {
                "anyOf": [{"type": "boolean"}, {"type": "string"}],
                "description": "A warm transfer: the caller hears hold music while the agent "
                "calls the person, tells them who is calling and why, and asks them to accept "
                "(say yes or press 1; 2 declines); accepted, both join one conference; else "
                'the agent takes a message. Usually "${env:TRANSFER_WARM|false}".',
            }
        ),
    ] = Field(False)
    accept_timeout_s: int = Field(
        20,
        ge=5,
        le=120,
        description="Warm transfers: seconds the person has to accept after answering (the "
        "question is repeated once); no answer in time is a decline.",
    )

    @property
    def active(self) -> bool:
        return bool(self.to.strip())


class BargeInSettings(BaseModel):
    """What the caller's speech over the agent does (processors/barge_in.py)."""

    model_config = ConfigDict(extra="forbid")

    rule: Literal["acknowledgements", "any_speech"] = Field(
        "acknowledgements",
        description="acknowledgements: words other than an acknowledgement stop the agent; "
        "an acknowledgement alone neither stops it nor makes a turn (it is recorded as one). "
        "any_speech: any speech the VAD hears stops it at once.",
    )
    acknowledgements: list[str] | None = Field(
        None,
        description="Words and short phrases that, said alone over the agent, are only an "
        'acknowledgement; replaces the default list ("mm-hmm", "uh-huh", "okay", "right", '
        '"yeah", "I see", ...).',
    )
    max_acknowledgement_s: float = Field(
        1.2,
        gt=0,
        le=10,
        description="Speech over the agent this long with no words transcribed yet stops it "
        "(a slow STT, or Whisper, which transcribes only after the caller pauses).",
    )

    @model_validator(mode="after")
    def _phrases(self) -> BargeInSettings:
        bad = [p for p in self.acknowledgements or [] if not re.search(r"[A-Za-z0-9]", p)]
        if bad:
            raise ValueError(f"acknowledgements must have words, not {bad}")
        return self


class CallSettings(BaseModel):
    """Call-level settings: what the agent says first, how long a call may last, idle prompts."""

    model_config = ConfigDict(extra="forbid")

    greeting: str | None = Field(
        None, description="Spoken as soon as the call connects; none means wait for the caller."
    )
    max_duration_s: int = Field(
        900, gt=0, description="The call is ended politely after this many seconds."
    )
    idle_timeout_s: float = Field(
        6, gt=0, description="Seconds of silence from the caller before an idle prompt."
    )
    idle_prompt: str | None = Field(
        "Are you still there?", description="Said when the caller has been silent too long."
    )
    max_idle_prompts: int = Field(
        2, ge=0, description="Idle prompts before the agent says goodbye and hangs up."
    )
    goodbye: str | None = Field(
        "Thanks for calling. Goodbye!", description="Said before the agent hangs up."
    )
    min_interruption_words: int | None = Field(
        None,
        ge=1,
        description="Words the caller must say while the agent speaks before it stops talking "
        "(acknowledgements alone never stop it, see barge_in); default MIN_INTERRUPTION_WORDS, "
        "else 1.",
    )
    barge_in: BargeInSettings = Field(
        default_factory=BargeInSettings,
        description="Acknowledgements and interruptions while the agent speaks.",
    )
    fallback: str = Field(
        "Sorry, I'm having trouble. Could you say that again?",
        description="Said when a turn fails (the LLM or TTS errs or times out after its retry); "
        "the call goes on. Keep it in the audio cache: it plays without the TTS.",
    )
    trouble_goodbye: str = Field(
        "Sorry, we're having technical trouble. Please call again later. Goodbye!",
        description="Said before hanging up when the call cannot go on (speech recognition "
        "lost for good). Keep it in the audio cache.",
    )
    max_duration_notice: str = Field(
        "I'm sorry, we've reached the time limit for this call.",
        description="Said (before the goodbye) when max_duration_s is reached.",
    )
    transfer_phrase: str = Field(
        "Connecting you now.",
        description="Said, to its end, before the call is put through to a person "
        "(`transfer:`). Keep it in the audio cache.",
    )
    transfer_failed: str = Field(
        "Sorry, nobody could take your call right now. Can I take a message?",
        description="Said when the call comes back after nobody answered a transfer. Keep it "
        "in the audio cache.",
    )
    hold_phrase: str = Field(
        "Please hold while I find someone to take your call.",
        description="Warm transfers: said, to its end, before the hold music. Keep it in the "
        "audio cache.",
    )
    hold_connected: str = Field(
        "Thanks for holding. Connecting you now.",
        description="Warm transfers: said when the person accepted, before the caller joins "
        "them. Keep it in the audio cache.",
    )
    record: Annotated[
        bool,
        WithJsonSchema(
            {
                "anyOf": [{"type": "boolean"}, {"type": "string"}],
                "description": "Record both sides of every call as a stereo WAV under "
                'RECORDINGS_DIR (usually "${env:RECORD_CALLS|false}"); the recording notice '
                "is said first.",
            }
        ),
    ] = Field(False)
    recording_notice: str = Field(
        "This call may be recorded.",
        description="Said first, before the greeting, on calls that are recorded. Keep it in "
        "the audio cache.",
    )
    dtmf: dict[str, DtmfAction] = Field(
        default_factory=dict,
        description="Keypad digits mapped to actions; unmapped digits are told to the LLM "
        "('the caller pressed 5').",
    )
    voicemail: str | None = Field(
        None,
        description="Outbound calls: the message left once on an answering machine (after its "
        "beep), then the agent hangs up; may use ${call.vars.NAME}. None: hang up without one.",
    )

    @model_validator(mode="after")
    def _digits(self) -> CallSettings:
        bad = [d for d in self.dtmf if len(d) != 1 or d not in "0123456789*#"]
        if bad:
            raise ValueError(f"dtmf keys must be single keypad digits (0-9, *, #), not {bad}")
        return self


E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class MessagesSettings(BaseModel):
    """Taking messages for the owner: the dialog's questions and where the SMS goes."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Take messages (the section's presence enables it).")
    sms_to: str | None = Field(
        None,
        description="Owner's phone number (E.164, e.g. +15551234567) each message is texted "
        "to through Twilio's Messages API, from the called number; empty: no SMS (the "
        'message is still in the call record and the webhook). Usually "${env:OWNER_NUMBER|}".',
    )
    ask_name: str = Field(
        "Sure, I can take a message. What's your name?", description="First question."
    )
    ask_number_caller_id: str = Field(
        "Thanks. Should we call you back on the number you're calling from?",
        description="Offers the caller ID as the callback number (yes, no, or another number).",
    )
    ask_number: str = Field(
        "What's the best number to call you back on?",
        description="Asked when there is no caller ID or the caller declined it.",
    )
    ask_about: str = Field("And what's the message about?", description="The last question.")
    read_back: str = Field(
        "Let me read the number back: {number}. Is that right?",
        description="Reads the callback number back digit by digit; must contain {number}.",
    )
    ask_number_again: str = Field(
        "Sorry about that. What's the right number, digit by digit?",
        description="Said when the caller says the number read back is wrong.",
    )
    didnt_catch_number: str = Field(
        "Sorry, I didn't catch a phone number. Could you say it digit by digit?",
        description="Said when no phone number was heard.",
    )
    unclear: str = Field("Sorry, was that a yes or a no?", description="An unclear yes/no.")
    done: str = Field(
        "Thanks, I've passed your message on, and someone will call you back. "
        "Is there anything else I can help with?",
        description="Said once the message is taken (stored, and texted when sms_to is set).",
    )
    cancelled: str = Field(
        "No problem. Is there anything else I can help with?",
        description="Said when the caller says never mind.",
    )

    @model_validator(mode="after")
    def _check(self) -> MessagesSettings:
        if "{number}" not in self.read_back:
            raise ValueError("read_back must contain {number} (where the number is read back)")
        try:
            self.read_back.format(number="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"read_back: only {{number}} may be in braces ({exc})") from None
        if self.sms_to == "":
            self.sms_to = None
        if self.sms_to is not None and not re.match(E164_PATTERN, self.sms_to):
            raise ValueError(
                f"sms_to should be a phone number in E.164 form (+15551234567), not {self.sms_to!r}"
            )
        return self


def _chain_item_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return NAME_TAG
    if isinstance(value, dict | ParallelBlock):
        return PARALLEL_TAG
    return None


ChainItem = Annotated[
    Annotated[str, Tag(NAME_TAG)] | Annotated["ParallelBlock", Tag(PARALLEL_TAG)],
    Discriminator(
        _chain_item_tag,
        custom_error_type="chain_item",
        custom_error_message="expected a node name or a {parallel: [[...], [...]]} block",
    ),
]


class ParallelBlock(BaseModel):
    """Branches that all receive every frame (pipecat ParallelPipeline); each is a chain."""

    model_config = ConfigDict(extra="forbid")

    parallel: list[list[ChainItem]] = Field(
        description="Two or more branches; each branch is a chain of node names or blocks."
    )


class ReplaceWith(BaseModel):
    """Swap this node for another one when `when` is true (e.g. an env switch)."""

    model_config = ConfigDict(extra="forbid")

    node: str = Field(description="Name of the node used instead of this one.")
    when: bool | str = Field(
        description='true/false, usually "${env:VAR|false}"; yes/no/on/off/1/0 also work.'
    )


class NodeSpec(BaseModel):
    """One node as written: its type, optional replacement, and everything else as params."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="The node type, a name from the registry.")
    replace_with: ReplaceWith | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_params(cls, data: Any) -> Any:
        # Every key but the two reserved ones is a param of the node's type; a literal
        # `params:` key therefore ends up as an (unknown) param, not as this field.
        if not isinstance(data, dict):
            return data
        rest = dict(data)
        gathered: dict[str, Any] = {"params": rest}
        for key in ("type", "replace_with"):
            if key in rest:
                gathered[key] = rest.pop(key)
        return gathered


VAR_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


class VarSpec(BaseModel):
    """A call variable an outbound call brings (`dial --var name=Ann`): `${call.vars.name}`."""

    model_config = ConfigDict(extra="forbid")

    required: bool = Field(False, description="A call without it is refused at dial time.")
    description: str = Field("", description="What it is, for whoever places the call.")


class GraphFile(BaseModel):
    """A whole graph file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=GRAPH_NAME_PATTERN, description="The graph's name; must match the file name."
    )
    description: str = Field("", description="One line on what calls through this graph do.")
    call: CallSettings = Field(default_factory=CallSettings)
    chain: list[ChainItem] = Field(
        description="Nodes between transport in and transport out, in order."
    )
    taps: list[str] = Field(
        default_factory=list, description="Nodes that observe copies of frames."
    )
    nodes: dict[str, NodeSpec] = Field(description="Every node, by name.")
    numbers: list[str] = Field(
        default_factory=list,
        description="Phone numbers this graph answers, in E.164 (+15551234567): a call to one "
        "of them gets this graph, whatever the voice URL's ?graph= says. An empty entry (an "
        "unset ${env:VAR|}) is skipped. A number may belong to one graph only.",
    )
    hours: HoursSettings | None = Field(
        None,
        description="Business hours: when the line is open, and what callers get outside "
        "them. Without it the line is always open.",
    )
    transfer: dict[str, TransferDestination] = Field(
        default_factory=dict,
        description="People a call may be put through to, by name (a route's `destination`, "
        "a keypad digit's `transfer`, the LLM's transfer_call tool).",
    )
    messages: MessagesSettings | None = Field(
        None, description="Taking messages for the owner (README: Messages)."
    )
    vars: dict[str, VarSpec] = Field(
        default_factory=dict,
        description="The call variables outbound calls bring (`name: {required: true}`), used "
        "as ${call.vars.name} in call.greeting, call.voicemail, call.goodbye, call.idle_prompt "
        "and the LLM's prompt. A dial without a required one, or with one not declared, is "
        "refused.",
    )
    vocabulary: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="The business's own words the speech-to-text should hear: names, products, "
        "streets (e.g. Acme, Fibre Max, Elm Street). Sent to Deepgram as keyterms (nova-3, "
        "Flux; `keywords` for older models) and to Whisper in its initial prompt.",
    )

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict[str, VarSpec]) -> dict[str, VarSpec]:
        bad = [name for name in value if not re.match(VAR_NAME_PATTERN, name)]
        if bad:
            raise ValueError(f"variable names are snake_case (a-z, 0-9, _), not {bad}")
        return value

    @field_validator("vocabulary")
    @classmethod
    def _vocabulary_terms(cls, terms: list[str]) -> list[str]:
        seen: set[str] = set()
        for term in terms:
            if not term.strip():
                raise ValueError("a vocabulary term must not be blank")
            if len(term) > 50:
                raise ValueError(f"vocabulary term {term[:20]!r}...: at most 50 characters")
            if term.strip().lower() in seen:
                raise ValueError(f"vocabulary term {term!r} is listed twice")
            seen.add(term.strip().lower())
        return [term.strip() for term in terms]


class AfterHours(BaseModel):
    """What a call gets while the line is closed: another graph, or an after-hours greeting."""

    model_config = ConfigDict(extra="forbid")

    graph: str | None = Field(
        None, description="Another graph (by name) answers calls while this one is closed."
    )
    greeting: str | None = Field(
        None,
        description="Said instead of call.greeting while closed. Keep it in the audio cache.",
    )
    take_message: bool = Field(
        False,
        description="With greeting: the call starts in message-taking mode "
        "(CallInfo.line.take_message).",
    )

    @model_validator(mode="after")
    def _one_way(self) -> AfterHours:
        if (self.graph is None) == (self.greeting is None):
            raise ValueError("give either `graph` (another graph answers) or `greeting`")
        if self.take_message and self.graph is not None:
            raise ValueError("take_message goes with `greeting`; with `graph` that graph decides")
        return self


def _opening_times(value: Any) -> Any:
    texts = value if isinstance(value, list) else [value]
    if not all(isinstance(t, str) for t in texts):
        raise ValueError('should be "HH:MM-HH:MM" (quoted), a list of them, or "closed"')
    return value


OpeningTimes = Annotated[str | list[str], BeforeValidator(_opening_times)]


class HoursSettings(BaseModel):
    """Business hours as written; agent/graph/hours_read.py checks and compiles them."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(description="IANA time zone of the opening times, e.g. Europe/London.")
    weekly: dict[str, OpeningTimes] = Field(
        description='Opening times by day: keys are days (mon ... sun), ranges ("mon-fri") or '
        'lists ("sat, sun"); values are "HH:MM-HH:MM" ranges (several: a list or comma '
        'separated), or "closed". Days not listed are closed.'
    )
    closed: list[str | date] = Field(
        default_factory=list, description="Dates closed all day (YYYY-MM-DD), e.g. holidays."
    )
    after_hours: AfterHours | None = Field(
        None,
        description="What callers get while closed; without it the graph answers as usual "
        "(the call knows the line is closed: no transfers).",
    )


ParallelBlock.model_rebuild()
GraphFile.model_rebuild()
# Validates one chain item on its own (pass 1 keeps the readable items of a broken chain).
CHAIN_ITEM = TypeAdapter(ChainItem)
