"""The graph file JSON Schema and the README's node-type reference, from the same models.

`python -m agent graph schema > graphs/graph.schema.json` writes the schema editors use
(the `# yaml-language-server: $schema=./graph.schema.json` line at the top of a graph file).
Nodes are a union discriminated on `type`, so an editor completes each type's own keys.
Every non-string value may also be a `${env:...}` reference, which the schema allows.

`node_types_markdown()` renders the node table between the markers in graphs/README.md; a
test keeps the two in step.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model

from agent.graph.model import GraphFile, ReplaceWith
from agent.graph.registry import BUILTIN, KINDS, Registry

SCHEMA_ID = "https://switchboard.local/graph.schema.json"
ENV_REF = {
    "type": "string",
    "pattern": r"^.*\$\{env:[A-Za-z_][A-Za-z0-9_]*(\|[^}]*)?\}.*$",
    "description": "A value from the environment: ${env:VAR} or ${env:VAR|default}.",
}


def _node_model(node_type) -> type:
    name = "".join(part.capitalize() for part in node_type.name.split("_")) + "Node"
    return create_model(
        name,
        __base__=node_type.params,
        __doc__=node_type.summary,
        type=(Literal[node_type.name], Field(description="The node type.")),
        replace_with=(ReplaceWith | None, None),
    )


def graph_schema(registry: Registry = BUILTIN) -> dict[str, Any]:
    """The JSON Schema of a graph file, with every node type's params."""
    models = tuple(_node_model(t) for t in registry)
    node = Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007 (runtime tuple)
    file_model = create_model(
        "GraphFile",
        __base__=GraphFile,
        __doc__="A Switchboard graph file: which processors a call runs through, and how.",
        nodes=(dict[str, node], Field(description="Every node, by name.")),
    )
    schema = file_model.model_json_schema()
    defs = schema.setdefault("$defs", {})
    for def_name, definition in defs.items():
        if def_name.endswith("Node") or def_name in ("CallSettings", "AfterHours"):
            _allow_env(definition)
    defs["EnvRef"] = ENV_REF
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


_SCALARS = {"number", "integer", "boolean", "null"}


def _allow_env(definition: dict[str, Any]) -> None:
    # Substitution happens before validation (and pydantic reads "0.2" as a number), so
    # `stop_secs: "${env:STOP|0.2}"` is fine; string fields take references as they are.
    props = definition.get("properties", {})
    for key, prop in props.items():
        members = prop.get("anyOf", [prop])
        if {m.get("type") for m in members} <= _SCALARS and key != "type":
            if "anyOf" in prop:
                prop["anyOf"].append({"$ref": "#/$defs/EnvRef"})
                continue
            meta = {k: prop.pop(k) for k in ("title", "description", "default") if k in prop}
            props[key] = {"anyOf": [prop, {"$ref": "#/$defs/EnvRef"}], **meta}
    if "type" in props:  # the discriminator first, replace_with last: how files are written
        order = ["type", *(k for k in props if k not in ("type", "replace_with")), "replace_with"]
        definition["properties"] = {k: props[k] for k in order if k in props}


def schema_json(registry: Registry = BUILTIN) -> str:
    return json.dumps(graph_schema(registry), indent=2) + "\n"


# --- README reference ------------------------------------------------------------------------

README_BEGIN = "<!-- node-types:begin (generated: python -c 'from agent.graph.schema import node_types_markdown as m; print(m())') -->"
README_END = "<!-- node-types:end -->"


def node_types_markdown(registry: Registry = BUILTIN) -> str:
    out: list[str] = []
    for t in registry:
        out.append(f"### `{t.name}`\n")
        out.append(f"{t.summary}\n")
        reads = ", ".join(f"`{k}`" for k in sorted(t.consumes)) or "nothing"
        gives = ", ".join(f"`{k}`" for k in sorted(t.produces)) or "nothing"
        out.append(f"- role: {t.role}; reads {reads}; produces {gives}")
        if t.required_settings:
            out.append(f"- needs: {', '.join(f'`{s}`' for s in t.required_settings)}")
        out.append("")
        out.append("| param | type | default | what it does |")
        out.append("| --- | --- | --- | --- |")
        props = t.params.model_json_schema().get("properties", {})
        for key, info in t.params.model_fields.items():
            default = (
                "required"
                if info.is_required()
                else f"`{json.dumps(info.get_default(call_default_factory=True))}`"
            )
            out.append(
                f"| `{key}` | {_type_name(props.get(key, {}))} | {default} | {info.description or ''} |"
            )
        out.append("")
    out.append("Frame kinds: " + "; ".join(f"`{k}` {v}" for k, v in KINDS.items()) + ".")
    return "\n".join(out) + "\n"


def _type_name(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join(str(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " \\| ".join(_type_name(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type_name(prop.get('items', {}))}"
    return {"number": "number", "integer": "integer", "null": "null"}.get(kind, kind)
