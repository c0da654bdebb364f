"""Hypothesis profiles: ``dev`` (quick, the default) and ``ci`` (thorough).

Select one with ``HYPOTHESIS_PROFILE=ci``; ``.ci/run`` does. A failure
prints the falsifying example and the ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    print_blob=True,
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    print_blob=True,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
    phases=list(Phase),
    verbosity=Verbosity.normal,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, object]) -> None:
    """Docstring examples run with ``pendulum`` and every public name in scope."""
    import pendulum

    import custservice

    doctest_namespace["pendulum"] = pendulum
    doctest_namespace.update({name: getattr(custservice, name) for name in custservice.__all__})


def require(what: str, env: str, reason: str) -> None:
    """Skip with a visible reason, or fail when ``env`` is set (as CI sets it)."""
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is required ({env}=1) but {reason}")
    pytest.skip(f"{what} unavailable: {reason} (set {env}=1 to make this a failure)")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site, built once per test run with ``mkdocs build --strict``."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = Path(sys.executable).with_name("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=Path(__file__).parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return out
