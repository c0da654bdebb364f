"""The public surface: ``__all__`` is exactly the public names, and importing is cheap."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types

import pytest

import custservice


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name in dir(custservice)
        if not name.startswith("_")
        and not isinstance(getattr(custservice, name), types.ModuleType)
        and name not in {"TYPE_CHECKING", "Any", "importlib"}
    }
    assert set(custservice.__all__) - {"__version__"} == public
    assert len(custservice.__all__) == len(set(custservice.__all__))


def test_lazy_names_resolve_and_unknown_names_fail() -> None:
    assert callable(custservice.to_json)
    with pytest.raises(AttributeError, match="no_such_name"):
        custservice.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_every_public_name_has_a_docstring() -> None:
    for name in custservice.__all__:
        value = getattr(custservice, name)
        if getattr(value, "__module__", "").startswith("custservice"):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_importing_opens_nothing_and_loads_no_driver() -> None:
    code = textwrap.dedent(
        """
        import sys
        events = []
        def hook(event, args):
            if event in ("sqlite3.connect", "socket.connect", "socket.bind"):
                events.append(event)
            elif event == "open" and isinstance(args[0], str) and args[0].endswith(
                (".sqlite3", ".db", ".json", ".toml")
            ):
                events.append(args[0])
        sys.addaudithook(hook)
        import custservice
        heavy = {"cattrs", "sqlalchemy", "sqlite3", "psycopg", "pymysql", "hypothesis", "pytest"}
        loaded = heavy & set(sys.modules)
        print(sorted(loaded), events)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[] []"
