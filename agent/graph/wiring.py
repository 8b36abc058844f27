"""The wiring passes of graph validation: topology (4), replace_with, frame flow (5), audio (6),
and `messages:` (who takes them, and routes that start them).

A mixin of validate._Validation, split out to keep modules small; it reads the draft and
problems collector that class sets up (`self.draft`, `self.add`, `self.type_of`, ...).
"""

from __future__ import annotations

from agent.graph import parse, yamlfile
from agent.graph.envsubst import Loc
from agent.graph.model import ParallelBlock
from agent.graph.registry import KINDS, SAMPLE_RATE, TRANSPORT_OUT_KIND
from agent.graph.resolved import produced_kinds, walk_flow


class WiringPasses:
    """Passes 4 to 6 and the replace_with resolution between them."""

    # -- pass 4

    def pass_topology(self) -> None:
        if "chain" in self.draft.data and not self.draft.data.get("chain"):
            self.add(("chain",), "the chain is empty; list the nodes between transport in and out")
        for loc, item in self.iter_chain():
            if isinstance(item, ParallelBlock):
                if len(item.parallel) < 2:
                    self.add(
                        (*loc, "parallel"),
                        f"a parallel block needs at least 2 branches (got {len(item.parallel)})",
                    )
                for b, branch in enumerate(item.parallel):
                    if not branch:
                        self.add((*loc, "parallel", b), "this branch is empty")

        self.used: dict[str, Loc] = {}
        last = self.draft.chain[-1][0] if self.draft.chain else None
        for loc, name in [*self.chain_names(), *self.draft.taps]:
            if name in self.used:
                first = parse.format_loc(self.used[name])
                self.add(loc, f"node '{name}' is already used at {first}; a node appears once")
                continue
            self.used[name] = loc
            node_type = self.type_of(name)
            if node_type is None:
                continue
            in_taps = loc[0] == "taps"
            if node_type.role == "tap" and not in_taps:
                self.add(loc, f"node '{name}' ({node_type.name}) is a tap; list it under taps")
            elif node_type.role == "chain" and in_taps:
                self.add(loc, f"node '{name}' ({node_type.name}) is not a tap; put it in the chain")
            elif "media" in node_type.channels and loc != last:
                self.add(
                    loc,
                    f"node '{name}' ({node_type.name}) writes to transport out's media link; "
                    "it must be the chain's last node",
                )

        targets: set[str] = set()
        for name, spec in self.draft.specs.items():
            if not spec.replace_with or spec.replace_with.node not in self.draft.node_names:
                continue
            target, loc = spec.replace_with.node, ("nodes", name, "replace_with", "node")
            targets.add(target)
            target_spec, target_type, own_type = (
                self.draft.specs.get(target),
                self.type_of(target),
                self.type_of(name),
            )
            if target == name:
                self.add(loc, "a node cannot replace itself")
            elif target in self.used:
                where = parse.format_loc(self.used[target])
                self.add(
                    loc,
                    f"'{target}' is also used at {where}; a replacement is used only through replace_with",
                )
            elif target_spec is not None and target_spec.replace_with is not None:
                self.add(
                    loc, f"'{target}' has a replace_with of its own; replacements do not chain"
                )
            elif target_type and own_type and target_type.role != own_type.role:
                self.add(
                    loc,
                    f"'{target}' is a {target_type.role} node but '{name}' is a {own_type.role} node",
                )
        if not self.draft.chain_ok:
            return  # with part of the chain unreadable, "unused" would be a guess
        for name in self.draft.node_names:
            if name not in self.used and name not in targets:
                self.add(
                    ("nodes", name), f"node '{name}' is not used in the chain or taps", "warning"
                )

    # -- replace_with

    def resolve(self) -> None:
        """Which node runs in each place: `name` or its replacement when `when` is true."""
        self.runs: dict[str, str] = {}
        for name in self.used:
            spec = self.draft.specs.get(name)
            target = spec.replace_with.node if spec and spec.replace_with else None
            ok = (
                target in self.draft.specs
                and target not in self.used
                and target != name
                and self.draft.specs[target].replace_with is None
            )
            self.runs[name] = target if ok and self.replace_when.get(name) else name

    def resolved_items(self, items) -> list:
        out: list = []
        for item in items:
            if isinstance(item, str):
                out.append(self.runs.get(item, item))
            else:
                branches = [self.resolved_items(b) for b in item.parallel]
                out.append(ParallelBlock.model_construct(parallel=branches))
        return out

    # -- pass 5

    def pass_flow(self) -> None:
        if not self.draft.chain_ok:
            return  # pass 1 could not read the whole chain; its flow would be a guess
        items = self.resolved_items([item for _, item in self.draft.chain])
        if not items:
            return
        types = {n: self.type_of(n) for n in self.runs.values()}
        locs = [loc for loc, _ in self.chain_names()]
        uncertain = False  # an unknown node upstream: what reaches later nodes is unknown
        for loc, (name, available) in zip(locs, walk_flow(items, types), strict=True):
            node_type = types.get(name)
            if node_type is None:
                uncertain = True
                continue
            missing = sorted(node_type.consumes - available)
            if missing and not uncertain and node_type.role == "chain":  # taps: pass 4
                self.add(loc, self._missing(name, node_type.name, missing, "before it"))
        if uncertain:
            return
        produced = produced_kinds(items, types)
        for loc, tap in self.draft.taps:
            name = self.runs.get(tap, tap)
            node_type = self.type_of(name)
            if node_type and (missing := sorted(node_type.consumes - produced)):
                self.add(loc, self._missing(name, node_type.name, missing, "in the chain"))
        if TRANSPORT_OUT_KIND not in produced:
            producers = ", ".join(self.registry.producers_of(TRANSPORT_OUT_KIND)) or "none"
            self.add(
                ("chain",),
                f"nothing produces '{TRANSPORT_OUT_KIND}': the caller would hear nothing "
                f"(add a text-to-speech node: {producers})",
            )

    def _missing(self, name: str, type_name: str, kinds: list[str], where: str) -> str:
        parts = []
        for kind in kinds:
            producers = ", ".join(self.registry.producers_of(kind)) or "no node type"
            parts.append(f"'{kind}' ({KINDS[kind]}; produced by {producers})")
        return f"node '{name}' ({type_name}) needs {' and '.join(parts)} but nothing {where} produces it"

    # -- pass 6

    def pass_audio(self) -> None:
        for name in dict.fromkeys(self.runs.values()):
            node_type, params = self.type_of(name), self.params.get(name)
            if node_type is None or params is None:
                continue
            rate = getattr(params, "sample_rate", None)
            if rate is not None and rate != SAMPLE_RATE:
                self.add(
                    ("nodes", name, "sample_rate"),
                    f"{rate} Hz, but calls carry {SAMPLE_RATE} Hz audio: every frame will be "
                    f"resampled (set sample_rate: {SAMPLE_RATE})",
                    "warning",
                )
            elif rate is None and SAMPLE_RATE not in node_type.sample_rates:
                self.add(
                    ("nodes", name),
                    f"{node_type.name} works at {node_type.sample_rates[0]} Hz, but calls carry "
                    f"{SAMPLE_RATE} Hz audio: every frame will be resampled",
                    "warning",
                )

    # -- messages

    MESSAGE_ACTIONS = ("take_message", "offer_message")

    def pass_messages(self) -> None:
        """A graph that takes messages needs an LLM node to take them in front of; a routes
        file whose routes start message-taking needs a graph that takes messages."""
        messages = self.draft.messages
        enabled = messages is not None and messages.enabled
        names = list(dict.fromkeys(self.runs.values()))
        hours = self.draft.hours
        after = hours.after_hours if hours is not None else None
        if after is not None and after.take_message and not enabled:
            self.add(
                ("hours", "after_hours", "take_message"),
                "taking messages after hours needs a messages: section (graphs/README.md)",
            )
        if enabled and self.draft.chain_ok:
            answerers = [n for n in names if (t := self.type_of(n)) and "context" in t.produces]
            if not answerers:
                self.add(
                    ("messages",),
                    "taking messages needs a node that answers the caller (groq_llm or "
                    "local_responder) in the chain",
                )
        for name in names:
            node_type, params = self.type_of(name), self.params.get(name)
            if enabled or node_type is None or node_type.name != "intent_router" or not params:
                continue
            routes_file = self.path.parent / params.routes
            if not routes_file.is_file():
                continue  # pass 2 reported it
            data, problem = yamlfile.read_yaml(routes_file.read_text(encoding="utf-8"))
            routes = data.get("routes") if not problem and isinstance(data, dict) else None
            for route, spec in (routes if isinstance(routes, dict) else {}).items():
                action = spec.get("action") if isinstance(spec, dict) else None
                if action in self.MESSAGE_ACTIONS:
                    self.add(
                        ("nodes", name, "routes"),
                        f"route '{route}' has action {action}, but this graph takes no "
                        "messages: add a messages: section (graphs/README.md, Messages)",
                    )
