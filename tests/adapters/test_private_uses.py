"""pipecat is touched in one place: private pipecat/SDK names only under agent/adapters/.

The checker (agent/adapters/private_uses.py) is tested on a snippet with one use of each
kind, then run over agent/ and processors/: outside agent/adapters/ it must find nothing.
"""

from __future__ import annotations

import textwrap
from collections import Counter

from agent.adapters.private_uses import ROOT, scan, scan_file

# Files outside agent/adapters/ that may still use private names, each with why; none today.
ALLOWED: dict[str, int] = {}


def test_the_checker_finds_each_kind_of_use(tmp_path):
    (tmp_path / "agent").mkdir()
    path = tmp_path / "agent" / "example.py"
    path.write_text(
        textwrap.dedent(
            """
            from deepgram import base_client
            from pipecat.services.deepgram.stt import DeepgramSTTService

            base_client._make_default_async_client = None

            def build(client):
                class Ours(DeepgramSTTService):
                    async def _connection_handler(self):
                        self._mine = 1
                        return self._client

                return getattr(client, "_transport", None), client._state
            """
        )
    )
    found = {(u.kind, u.name, u.line) for u in scan_file(path, tmp_path)}
    assert found == {
        ("module", "_make_default_async_client", 5),
        ("override", "_connection_handler", 9),
        ("attribute", "_client", 11),
        ("object", "_transport", 13),
        ("object", "_state", 13),
    }


def test_private_pipecat_names_live_only_in_agent_adapters():
    per_file = Counter(u.path for u in scan(ROOT) if not u.path.startswith("agent/adapters/"))
    over = {path: count for path, count in per_file.items() if count > ALLOWED.get(path, 0)}
    assert not over, (
        "private pipecat/SDK names outside agent/adapters/ (move them into an adapter): "
        + ", ".join(f"{p} ({n})" for p, n in sorted(over.items()))
        + "; `python -m agent.adapters.private_uses` lists them by line"
    )
