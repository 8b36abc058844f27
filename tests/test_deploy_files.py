"""The Dockerfile and docker-compose.yml, read as Docker would (no engine runs here to build them).

- Dockerfile: the dependencies are installed in a layer that depends on pyproject.toml alone
  (a code change does not reinstall them), and that layer holds the `local` extra, so a
  keyless container serves the local graph; the code comes after; non-root; /health checked.
- docker-compose.yml: the app waits for a healthy Postgres (pg_isready) and both restart.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CODE = {"agent", "processors", "graphs", "audio_cache", "."}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]


def copy_sources(args: str) -> list[str]:
    parts = [p for p in shlex.split(args) if not p.startswith("--")]
    return parts[:-1]


def test_dependencies_install_from_pyproject_alone_before_the_code_is_copied(tmp_path):
    steps = instructions()
    install = next(
        i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install -r" in args
    )
    copied_before = [
        src for op, args in steps[:install] if op == "COPY" for src in copy_sources(args)
    ]
    assert copied_before == ["pyproject.toml"], copied_before
    copied_after = {
        src for op, args in steps[install:] if op == "COPY" for src in copy_sources(args)
    }
    assert "." in copied_after or CODE - {"."} <= copied_after, copied_after
    for src in copied_before + sorted(copied_after - {"."}):
        assert (ROOT / src).exists(), f"COPY {src}: no such file in the project"

    # The layer's command, run on pyproject.toml: the project's dependencies and `local` extra.
    run = steps[install][1]
    command = run.split(" > ", 1)[0]
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-c"], argv
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    listed = subprocess.run(
        [sys.executable, "-c", argv[2]], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = project["dependencies"] + project["optional-dependencies"]["local"]
    assert listed == expected
    assert any(req.startswith("pipecat-ai[whisper,piper]") for req in listed)

    # The project itself is installed after the code, without touching the dependencies.
    code_install = [
        i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install" in args
    ]
    assert len(code_install) == 2 and "--no-deps" in steps[code_install[1]][1]
    first_code_copy = next(
        i for i, (op, args) in enumerate(steps) if op == "COPY" and CODE & set(copy_sources(args))
    )
    assert install < first_code_copy < code_install[1]


def test_the_container_runs_as_a_user_and_checks_health():
    steps = instructions()
    ops = [op for op, _ in steps]
    assert ("USER", "switchboard") in steps
    assert ops.index("USER") > max(i for i, op in enumerate(ops) if op == "RUN")  # root installs
    [health] = [args for op, args in steps if op == "HEALTHCHECK"]
    assert "/health" in health and "PORT" in health


def test_compose_starts_the_app_once_postgres_is_healthy_and_restarts_both():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web, db = compose["services"]["web"], compose["services"]["db"]
    assert web["depends_on"] == {"db": {"condition": "service_healthy"}}
    test = db["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and test[1].startswith("pg_isready")
    env = db["environment"]
    assert f"-U {env['POSTGRES_USER']}" in test[1] and f"-d {env['POSTGRES_DB']}" in test[1]
    assert web["restart"] == db["restart"] == "unless-stopped"
    # The app's DATABASE_URL names the service and credentials the db is created with.
    url = web["environment"]["DATABASE_URL"]
    assert url == (
        f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@db:5432/{env['POSTGRES_DB']}"
    )


def test_dockerignore_keeps_secrets_and_local_databases_out_of_the_build():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".git", ".venv", "*.db"} <= set(ignored)
