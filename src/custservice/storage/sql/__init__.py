"""The SQL storage core: one implementation, on SQLAlchemy Core 2, for every SQL engine.

:mod:`.store` holds the repositories, change feed, forget and export;
:mod:`.schema` the tables; :mod:`.migrations` the upgrades; :mod:`.snapshot`
the snapshot reads and the reads they run beside themselves. Each engine
module (:mod:`.sqlite`, :mod:`.postgresql`) holds only what its driver does
differently. Importing this package loads SQLAlchemy: ``import custservice``
never does.
"""

from __future__ import annotations

from .driver import Driver
from .schema import VERSION, metadata
from .snapshot import Ahead, Snapshot
from .store import SqlStore

__all__ = ["VERSION", "Ahead", "Driver", "Snapshot", "SqlStore", "metadata"]
