"""Choosing a backend by URL: the ``custservice.backends`` entry-point group.

The built-in ``memory``, ``sqlite`` and ``postgresql`` backends register
through the same group as third-party packages, and a backend's module is
imported only when its scheme is first opened.

A backend's entry point names a callable ``(url: str) -> Store``. The URL it
is given has its scheme in lower case (schemes are case-insensitive, RFC
3986). If the callable also takes a keyword ``create: bool``, then
``open_store(url, create=False)`` passes ``create=False``: the callable must
then open only a store that already exists, creating nothing, and raise
:class:`StorageError` otherwise.
"""

from __future__ import annotations

import functools
import inspect
import re
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import BackendNotFound, CustServiceError, StorageError

if TYPE_CHECKING:
    from .protocols import Store

__all__ = ["GROUP", "available_backends", "backend_origins", "open_store"]

GROUP = "custservice.backends"
"""The entry-point group a backend registers in, named by its URL scheme."""


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available_backends() -> frozenset[str]:
    """The URL schemes a store can be opened with.

    Examples:
        >>> {"memory", "sqlite"} <= available_backends()
        True
    """
    return frozenset(_entry_points())


def backend_origins() -> dict[str, str]:
    """For each scheme, where its backend comes from (``package: module:callable``)."""
    out = {}
    for name, ep in sorted(_entry_points().items()):
        dist = ep.dist.name if ep.dist is not None else "?"
        out[name] = f"{dist}: {ep.value}"
    return out


def open_store(url: str, *, create: bool = True) -> Store:
    """Open the store a URL names: ``memory://``, ``sqlite:///path/to/file.db``,
    ``postgresql://user@host/db``, or any scheme a plugin registers.

    The scheme may be written in any case (``SQLite:///file.db``).

    Args:
        url: the store's URL.
        create: ``False`` opens only a store that already exists and creates
            nothing: a missing SQLite file, or a PostgreSQL schema that does
            not exist or holds no store, is a :class:`StorageError`, as is
            ``memory://`` (always new). A store of an older schema is still
            migrated. A plugin whose opener takes no ``create`` keyword is
            opened as usual; whether that creates anything is up to it.

    Raises:
        BackendNotFound: the URL has no scheme, or no backend serves it
            (the message lists the schemes available).
        StorageError: the backend failed to load or to open the store, or,
            with ``create=False``, the store does not exist.

    Examples:
        >>> with open_store("memory://") as store:
        ...     store.customers.count()
        0
    """
    if not isinstance(url, str):
        raise BackendNotFound(repr(url), available_backends(), "a store URL must be a string")
    # The scheme is read by its RFC 3986 shape, so a malformed rest of the URL is
    # the backend's to report (as a StorageError), never a parser's ValueError.
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if not scheme:
        raise BackendNotFound(
            "", available_backends(), f"{redact(url)!r} has no scheme, such as sqlite:///file.db"
        )
    # Schemes are case-insensitive (RFC 3986): each backend is given its own in lower case.
    url = scheme + url[len(scheme) :]
    scheme = _ALIASES.get(scheme, scheme)
    ep = _entry_points().get(scheme)
    if ep is None:
        raise BackendNotFound(scheme, available_backends())
    try:
        factory: Any = ep.load()
    except Exception as exc:
        raise StorageError(
            f"the backend for {scheme!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        store: Store = (
            factory(url, create=False) if not create and _takes_create(factory) else factory(url)
        )
    except CustServiceError:
        raise
    except Exception as exc:
        raise StorageError(
            f"the backend for {scheme!r} could not open {redact(url)!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return store


def _takes_create(factory: Any) -> bool:
    """Whether a backend's opener accepts the keyword ``create``."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no signature to read: call it as the protocol says
        return False
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == "create" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        for p in parameters
    )


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")

# Schemes other libraries use for the same backends.
_ALIASES = {"postgres": "postgresql", "postgresql+psycopg": "postgresql"}


_SECRET_OPTION = re.compile(r"(?i)([?&](?:password|passfile|sslpassword)=)[^&#]*")


def redact(url: str) -> str:
    """``url`` fit to print: any password hidden, in the user part or the options."""
    return _SECRET_OPTION.sub(r"\1***", _safe(url))


def _safe(url: str) -> str:
    """The URL with the password of its user part hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable: show no more than its scheme
        return url.partition(":")[0] + ":…"
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
