"""The ``custservice`` command line: the demo, reports, backends and lifecycles.

Errors a user can cause (a bad URL, a missing file, a store that is not a
custservice database) print one line on stderr and exit with status 2;
nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import CustServiceError

if TYPE_CHECKING:
    import datetime as dt

    from .storage.protocols import Store

DEFAULT_DEMO_FILE = "custservice-demo.db"
LIFECYCLES = {
    "customer": "CUSTOMER_LIFECYCLE",
    "interaction": "INTERACTION_CYCLE",
    "case": "CASE_LIFECYCLE",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custservice",
        description="Model customer service: a demo, service reports, backends and lifecycles.",
    )
    parser.add_argument("--version", action="version", version=f"custservice {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="simulate a customer base into a store, then print a service report"
    )
    demo.add_argument(
        "--store",
        metavar="URL",
        help=f"where to write (default: sqlite:///{DEFAULT_DEMO_FILE}, replaced on each run)",
    )
    demo.add_argument("--customers", type=_positive, default=1000, metavar="N")
    demo.add_argument("--months", type=_positive, default=12, metavar="M")
    demo.add_argument("--seed", type=int, default=7, metavar="S")
    demo.add_argument("--html", metavar="FILE", help="also write the report as one HTML file")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    report = commands.add_parser("report", help="print the service report of a store")
    report.add_argument("--store", metavar="URL", required=True)
    report.add_argument("--html", metavar="FILE", help="also write the report as one HTML file")
    report.add_argument(
        "--at",
        metavar="WHEN",
        help="the instant to report at, ISO 8601 with an offset (default: the latest change)",
    )

    commands.add_parser("backends", help="list the storage backends and where they come from")

    lifecycle = commands.add_parser("lifecycle", help="print a built-in lifecycle as Mermaid")
    lifecycle.add_argument("name", choices=sorted(LIFECYCLES))
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "report":
            return _report(args.store, args.html, args.at)
        if args.command == "backends":
            return _backends()
        return _lifecycle(args.name)
    except CustServiceError as exc:
        print(f"custservice: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"custservice: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("custservice: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _backends() -> int:
    from .storage.registry import backend_origins

    for scheme, origin in backend_origins().items():
        print(f"{scheme:<12} {origin}")
    return 0


def _lifecycle(name: str) -> int:
    from . import lifecycles

    print(getattr(lifecycles, LIFECYCLES[name]).to_mermaid())
    return 0


def _open_existing(url: str) -> Store:
    """Open a store for reading; a SQLite URL must name an existing file."""
    from .storage.registry import open_store

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) != ":memory:" and not path.exists():
            raise FileNotFoundError(2, "no such store file", str(path))
    return open_store(url)


def _demo(args: argparse.Namespace) -> int:
    from .simulation import simulate
    from .storage.registry import open_store

    url = args.store
    if url is None:
        path = Path(DEFAULT_DEMO_FILE)
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)  # the demo's own file, made afresh each run
        url = f"sqlite:///{path}"
    with open_store(url) as store:
        if store.customers.count():
            raise CustServiceError(f"{url} already holds customers; give an empty store")
        progress = None if args.quiet or not sys.stderr.isatty() else _ProgressBar()
        result = simulate(
            store,
            customers=args.customers,
            months=args.months,
            seed=args.seed,
            progress=progress,
        )
        if progress is not None:
            progress.done()
        print(
            f"Simulated {result.customers} customers, {result.interactions} interactions and "
            f"{result.cases} cases over {args.months} months into {url}.\n"
        )
        return _print_report(store, result.ended_at, args.html)


def _report(url: str, html: str | None, at: str | None) -> int:
    from ._time import parse_datetime

    when = None if at is None else parse_datetime(at, "at")
    with _open_existing(url) as store:
        return _print_report(store, when, html)


def _print_report(store: Store, at: dt.datetime | None, html: str | None) -> int:
    from .report import build_report, render_html, render_text

    report = build_report(store, at=at)
    print(render_text(report))
    if html:
        Path(html).write_text(render_html(report), encoding="utf-8")
        print(f"\nHTML report written to {html}")
    return 0


class _ProgressBar:
    """A one-line progress bar on stderr, for interactive terminals."""

    def __init__(self) -> None:
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // total
        if percent != self._shown:
            self._shown = percent
            filled = percent // 4
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (25 - filled)}] {percent:3d}%  {done}/{total}"
            )
            sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    run()
