"""agent/records/extraction.py: the extraction schema is built once, not on every request.

Instructor wraps a plain pydantic model in a new class, with a new JSON schema, on every
request; the extractor hands it one already wrapped, per schema, so a busy server does not
build and then collect a class per extraction."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.nodes.params import LeadExtractionParams
from agent.records.extraction import CallExtraction, Extractor, Lead, request_model, schema_model
from agent.records.turns import Turn
from tests.records.test_extraction_shutdown import extraction_config

MODEL = "llama-3.3-70b-versatile"


def test_the_same_schema_gives_the_same_classes():
    from instructor import OpenAISchema

    fields = {"party_size": {"type": "integer", "description": "people"}}
    first = schema_model("booking", LeadExtractionParams(fields=fields).fields)
    again = schema_model("booking", LeadExtractionParams(fields=fields).fields)
    assert first is again
    other = schema_model(
        "booking",
        LeadExtractionParams(fields={**fields, "x": {"type": "string", "description": "x"}}).fields,
    )
    assert other is not first and set(other.model_fields) == {"party_size", "x"}
    wrapped = request_model(Lead)
    assert wrapped is request_model(Lead) and issubclass(wrapped, OpenAISchema)
    assert issubclass(wrapped, Lead) and wrapped.__name__ == "Lead"


async def test_requests_build_no_model_class(fakes, monkeypatch):
    built: list = []
    meta = type(Lead)  # pydantic's model metaclass
    original = meta.__new__

    def counting_new(mcs, name, *args, **kwargs):
        built.append(name)
        return original(mcs, name, *args, **kwargs)

    request_model(Lead)  # the one wrapping, before counting
    extractor = Extractor(extraction_config(fakes), workers=1)
    extractor.start()
    now = datetime.now(UTC)
    monkeypatch.setattr(meta, "__new__", counting_new)
    for i in range(3):
        turns = [Turn(0, "caller", f"Hi, this is caller {i}.", now, now)]
        extractor.submit(CallExtraction(f"CA{i}", "lead", Lead, MODEL, 5.0, 0, turns=turns))
    await extractor.close(timeout=5.0)
    monkeypatch.undo()
    requests = fakes.groq.extraction_requests
    assert len(requests) == 3
    assert all(r["tools"] == requests[0]["tools"] for r in requests)
    assert requests[0]["tools"][0]["function"]["name"] == "Lead"
    assert built == []
