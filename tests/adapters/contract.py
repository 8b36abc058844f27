"""Assertions that name the pipecat (or SDK) behaviour an adapter relies on, so that an
upgrade which changes it fails here, with a message saying what changed, before any call."""

from __future__ import annotations

import inspect


def _name(owner) -> str:
    return f"{getattr(owner, '__module__', '?')}.{getattr(owner, '__qualname__', owner)}"


def assert_callable(owner, name: str, params: list[str], *, is_async: bool | None = None):
    """`owner.name` exists with exactly these parameter names (self included, for methods)."""
    fn = getattr(owner, name, None)
    assert fn is not None, f"upstream changed: {_name(owner)}.{name} is gone"
    got = list(inspect.signature(fn).parameters)
    expected = ", ".join(params)
    assert got == params, (
        f"upstream changed: {_name(owner)}.{name}{inspect.signature(fn)}, expected ({expected})"
    )
    if is_async is not None:
        assert inspect.iscoroutinefunction(fn) == is_async, (
            f"upstream changed: {_name(owner)}.{name} is {'not ' if is_async else ''}async now"
        )


def assert_source_mentions(owner, name: str, *snippets: str):
    """The source of `owner.name` still contains each snippet (a call or an assignment)."""
    source = inspect.getsource(getattr(owner, name))
    missing = [s for s in snippets if s not in source]
    assert not missing, f"upstream changed: {_name(owner)}.{name} no longer has {missing}"


def assert_has_attrs(obj, *names: str):
    """An instance carries these attributes (set by the upstream constructor)."""
    missing = [n for n in names if not hasattr(obj, n)]
    assert not missing, f"upstream changed: {type(obj).__mro__[1].__qualname__} sets no {missing}"
