"""Project-level promises: README's commands, CI, Procfile, docs in sync with the code."""

import re
from pathlib import Path

from agent.config import render_markdown_table

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    return re.findall(r"```bash\n(python3 -m venv[^\n]+)\n```", (ROOT / "README.md").read_text())


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    serve, test = commands
    assert serve.endswith("python -m agent serve")
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci, ".ci/run must run exactly README's test command"


def test_procfile_runs_the_server():
    assert (ROOT / "Procfile").read_text().strip() == "web: python -m agent serve"


def test_readme_config_table_matches_settings():
    text = (ROOT / "README.md").read_text()
    assert render_markdown_table() in text, (
        "README config table is stale: paste the output of python -m agent config table"
    )


def test_dockerfile_and_compose_run_what_the_procfile_runs():
    import json

    import yaml

    procfile_command = (ROOT / "Procfile").read_text().strip().removeprefix("web:").strip()
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert " ".join(json.loads(cmd.removeprefix("CMD "))) == procfile_command
    assert "EXPOSE 8080" in dockerfile and "PORT=8080" in dockerfile
    assert "\nUSER switchboard\n" in dockerfile  # not root
    assert "/health" in next(line for line in dockerfile.splitlines() if "urlopen" in line)

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    assert web["command"] == procfile_command
    assert web["environment"]["PORT"] == "8080"
    assert "8080:8080" in web["ports"]
