"""Create and fill the project's virtual environment when it is missing or stale.

Both README commands import this module, so a fresh machine with only
Python 3.11+ needs nothing else. The environment is rebuilt when
``pyproject.toml`` changes (its hash is stamped inside the environment).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("CUSTSERVICE_VENV", ROOT / ".venv"))
EXTRAS = "dev,docs,postgres,mysql,async,bench"


def _bin(name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    return VENV / folder / name


def _stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(EXTRAS.encode())
    return digest.hexdigest()


def ensure() -> Path:
    """Return the environment's ``bin`` folder, creating or refreshing it first."""
    if sys.version_info < (3, 11):  # noqa: UP036  (run by whatever python3 the user has)
        sys.exit("custservice needs Python 3.11 or newer")
    python = _bin("python")
    stamp_file = VENV / ".custservice-stamp"
    if not python.exists():
        print(f"creating virtual environment in {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if not stamp_file.exists() or stamp_file.read_text() != _stamp():
        print("installing custservice and its tools", file=sys.stderr)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{EXTRAS}]"],
            check=True,
        )
        stamp_file.write_text(_stamp())
    return python.parent
