"""Reaching the call-record database at start: bounded retries, then one error that names it.

A Postgres started next to the app (docker-compose, a platform add-on, a restarted host) may
take a few seconds to accept connections. `wait_until_reachable` tries a probe, and while it
fails with a connection error (refused, unresolvable host, timeout, "the database system is
starting up") tries again with a doubling delay, logging each attempt, for at most
`timeout_s`. Then, or at once for an error that waiting cannot fix (a wrong password, no such
database), it raises `DatabaseUnreachable`: which database, `DATABASE_URL`'s host and port,
how long it waited and the last reason. Never the password.

The clock and the sleep are passed in, so the tests run the backoff on a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
from loguru import logger
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from agent.errors import SwitchboardError

CONNECT_TIMEOUT_S = 15.0  # the default of DATABASE_WAIT_SECONDS
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 4.0
ATTEMPT_TIMEOUT_S = 5.0  # one connection attempt (a host that drops packets never refuses)

# Postgres says so while it starts, recovers or is full: worth waiting for.
_TRANSIENT = (asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)


class DatabaseUnreachable(SwitchboardError):
    """The call-record database did not accept a connection (names host and port, no secret)."""


def where(url: str) -> str:
    """`DATABASE_URL`'s host and port, for messages: `db:5432`."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    if isinstance(host, tuple):  # ?host=a&host=b
        host = ",".join(host)
    return f"{host}:{parsed.port or 5432}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped, and their causes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, DBAPIError) and isinstance(current.orig, BaseException):
            todo.append(current.orig)
        todo.extend((current.__cause__, current.__context__))


def is_transient(exc: BaseException) -> bool:
    """A connection error that may go away by waiting (not a refused login)."""
    return any(isinstance(e, (OSError, *_TRANSIENT)) for e in _chain(exc))


def reason(exc: BaseException, password: str | None) -> str:
    """The innermost error, one line, the password masked should a driver ever quote it."""
    inner = list(_chain(exc))
    # The driver's own error says the most (SQLAlchemy adds statement and a docs link).
    root = next((e for e in inner if isinstance(e, OSError | asyncpg.PostgresError)), inner[-1])
    text = f"{type(root).__name__}: {root}".splitlines()[0]
    if password:
        text = text.replace(password, "****")
    return text


async def wait_until_reachable(
    probe: Callable[[], Awaitable[None]],
    url: str,
    *,
    timeout_s: float = CONNECT_TIMEOUT_S,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """Run `probe` until it succeeds; raise DatabaseUnreachable after `timeout_s` of failures."""
    target = where(url)
    password = make_url(url).password
    started = clock()
    delay = FIRST_DELAY_S
    attempt = 0
    while True:
        attempt += 1
        try:
            await asyncio.wait_for(probe(), ATTEMPT_TIMEOUT_S)
        except Exception as exc:
            why = reason(exc, password)
            if not is_transient(exc):
                raise DatabaseUnreachable(
                    f"the call-record database at {target} (DATABASE_URL) refused the "
                    f"connection: {why}"
                ) from exc
            waited = clock() - started
            if waited >= timeout_s:
                raise DatabaseUnreachable(
                    f"cannot reach the call-record database at {target} (DATABASE_URL): "
                    f"{attempt} attempts in {waited:.1f} s, the last: {why}"
                ) from exc
            pause = min(delay, timeout_s - waited)  # the last attempt at timeout_s
            logger.warning(
                f"call-record database at {target} not reachable (attempt {attempt}: {why}); "
                f"trying again in {pause:.1f} s"
            )
            await sleep(pause)
            delay = min(delay * 2, MAX_DELAY_S)
        else:
            if attempt > 1:
                logger.info(f"call-record database at {target} reachable (attempt {attempt})")
            return
