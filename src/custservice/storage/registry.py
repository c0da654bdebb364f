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
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ..errors import BackendNotFound, CustServiceError, StorageError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .protocols import Store

__all__ = ["GROUP", "available_backends", "backend_origins", "open_store"]

T = TypeVar("T")

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


def open_store(
    url: str | sa.Engine | sa.Connection, *, create: bool = True, schema: str | None = None
) -> Store:
    """Open the store a URL names: ``memory://``, ``sqlite:///path/to/file.db``,
    ``postgresql://user@host/db``, or any scheme a plugin registers; or a
    store on the application's own SQLAlchemy ``Engine`` or ``Connection``.

    The scheme may be written in any case (``SQLite:///file.db``).

    Given a ``Connection``, the store works inside the application's
    transaction: its changes (and their change-feed entries) commit or roll
    back with the application's own, it never commits, rolls back or closes
    the connection, and ``store.transaction()`` is a savepoint. Given an
    ``Engine``, it takes the engine's connections as it needs them and
    leaves the engine open when it closes. Either way it never creates or
    alters tables: run :func:`~custservice.storage.migrate` (or
    ``custservice migrate``) first, or create them in your own migrations
    from :func:`~custservice.storage.metadata`. See the how-to guide
    "Share the application's database and transactions". A backend serves
    an engine of its dialect (registered under the dialect's name) when its
    opener accepts one in place of a URL, as the built-in SQL backends do.

    Args:
        url: the store's URL, or a SQLAlchemy ``Engine`` or ``Connection``.
        schema: (an engine or connection to PostgreSQL) the schema holding
            the tables; by default the connection's search path.
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
    if _is_sqlalchemy(url):
        return _joined(url, schema=schema, create=False, migrate=False)
    if schema is not None and isinstance(url, str):
        raise StorageError("schema= is for an engine or a connection; a URL says its own schema")
    scheme, url, factory = _scheme_and_opener(url)
    store: Store = opening(
        scheme,
        url,
        lambda: (
            factory(url, create=False) if not create and _takes_create(factory) else factory(url)
        ),
    )
    return store


def _scheme_and_opener(url: object) -> tuple[str, str, Any]:
    """The backend's scheme, the URL with its scheme in lower case, and its opener.

    Raises:
        BackendNotFound: no scheme, or no backend for it.
        StorageError: the backend failed to load.
    """
    if not isinstance(url, str):
        raise BackendNotFound(
            repr(url),
            available_backends(),
            "a store URL must be a string (or a SQLAlchemy Engine or Connection)",
        )
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
        return scheme, url, ep.load()
    except Exception as exc:
        raise StorageError(
            f"the backend for {scheme!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc


def opening(scheme: str, url: str, open_it: Callable[[], T]) -> T:
    """Run a backend's opener: the library's errors pass, any other becomes a
    :class:`StorageError` naming the backend and the URL (its password hidden)."""
    try:
        return open_it()
    except CustServiceError:
        raise
    except Exception as exc:
        raise StorageError(
            f"the backend for {scheme!r} could not open {redact(url)!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _is_sqlalchemy(target: object) -> bool:
    """Whether ``target`` is a SQLAlchemy object, without importing SQLAlchemy."""
    return type(target).__module__.startswith("sqlalchemy.")


def _joined(target: Any, *, schema: str | None, create: bool, migrate: bool) -> Store:
    """A store on a host's SQLAlchemy engine or connection, from the backend registered
    under its dialect's name (``sqlite``, ``postgresql``, ``mysql``), which is given the
    engine or connection in place of a URL."""
    dialect = getattr(target, "dialect", None)
    name = str(getattr(dialect, "name", ""))
    ep = _entry_points().get(name)
    if ep is None or dialect is None:
        raise StorageError(
            f"a store cannot work on {type(target).__name__} {name!r}: expected a SQLAlchemy "
            f"Engine or Connection of one of {', '.join(sorted(available_backends()))}"
        )
    options: dict[str, Any] = {"create": create, "migrate": migrate}
    if schema is not None:
        options["schema"] = schema
    store: Store = ep.load()(target, **options)
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
