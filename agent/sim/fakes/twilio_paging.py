"""Twilio's paging of a list resource (the fake's Calls list), as Twilio's REST API pages.

A list answer holds one page of records under the resource's key (``calls``) and the paging
properties: ``page`` (0-based), ``page_size``, ``start``/``end`` (the page's first and last
record index), ``uri`` (this page), ``first_page_uri``, ``previous_page_uri`` and
``next_page_uri``, each a path relative to the API's host (``https://api.twilio.com``) with
the request's filters, or null (``next_page_uri`` is null on the last page; the client
follows it, the SDKs do the same: the domain's base URL + the URI).

The next page's URI carries ``Page=n+1``, ``PageSize`` and ``PageToken=PA<sid>``: the sid of
the last record on this page, so the next page starts after it even when newer records have
arrived in between (Twilio's advice: follow ``next_page_uri``, never build page URIs). The
previous page's token is ``PB<sid>``, the first record of this page. A page asked for by
``Page`` alone (no token) is read by offset, as older clients do.

``PageSize`` is 50 unless given, at most 1000: more is Twilio's 400 code 20007 ("Page size
too large"); not a positive number, or a token naming no record of the list, 400 code 20001.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
PAGING_KEYS = ("Page", "PageSize", "PageToken")


class PagingError(ValueError):
    """A paging parameter Twilio refuses: `status` and Twilio's `code`."""

    def __init__(self, code: int, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    start: int  # index of its first record in the whole list
    sids: tuple[str, ...]  # its records, in list order
    has_next: bool


def page_size(query: Mapping[str, str]) -> int:
    raw = query.get("PageSize", str(DEFAULT_PAGE_SIZE))
    try:
        size = int(raw)
    except ValueError:
        raise PagingError(20001, f"Invalid PageSize: {raw!r}") from None
    if size < 1:
        raise PagingError(20001, f"Invalid PageSize: {raw!r}")
    if size > MAX_PAGE_SIZE:
        raise PagingError(20007, f"Page size too large (maximum {MAX_PAGE_SIZE})")
    return size


def select_page(sids: Sequence[str], query: Mapping[str, str]) -> Page:
    """The page of `sids` (the whole filtered list, in order) that `query` asks for."""
    size = page_size(query)
    try:
        number = int(query.get("Page", "0"))
    except ValueError:
        raise PagingError(20001, f"Invalid Page: {query.get('Page')!r}") from None
    if number < 0:
        raise PagingError(20001, f"Invalid Page: {number}")
    token = query.get("PageToken")
    if not token:
        start = number * size
    elif token[:2] in ("PA", "PB") and token[2:] in sids:
        at = sids.index(token[2:])
        start = at + 1 if token[:2] == "PA" else max(0, at - size)
    else:
        raise PagingError(20001, f"Invalid PageToken: {token!r}")
    chosen = tuple(sids[start : start + size])
    return Page(number, size, start, chosen, start + size < len(sids))


def paging(path: str, query: Mapping[str, str], page: Page) -> dict:
    """The paging properties of `page` of the list at `path` filtered by `query`."""
    filters = [(k, v) for k, v in query.items() if k not in PAGING_KEYS]

    def uri(number: int, token: str | None = None) -> str:
        params = [*filters, ("PageSize", str(page.size)), ("Page", str(number))]
        if token:
            params.append(("PageToken", token))
        return f"{path}?{urlencode(params)}"

    next_uri = previous_uri = None
    if page.has_next and page.sids:
        next_uri = uri(page.number + 1, "PA" + page.sids[-1])
    if page.number > 0 and page.sids:
        previous_uri = uri(page.number - 1, "PB" + page.sids[0])
    here = {k: v for k, v in query.items()}
    return {
        "page": page.number,
        "page_size": page.size,
        "start": page.start,
        "end": page.start + max(len(page.sids) - 1, 0),
        "uri": f"{path}?{urlencode(list(here.items()))}" if here else path,
        "first_page_uri": uri(0),
        "previous_page_uri": previous_uri,
        "next_page_uri": next_uri,
    }
