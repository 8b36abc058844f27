"""`python -m agent`: one module per command; `agent.cli.main.main` parses and dispatches."""
