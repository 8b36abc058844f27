"""Conversation tests of a graph (`graphs/NAME.tests.yaml`), run by `python -m agent graph test`:
the file (`model`), reading and checking it (`read`), one scenario as a real call (`run`), its
expectations (`check`), the table and JUnit XML (`report`). See docs/decisions/graph-tests.md."""
