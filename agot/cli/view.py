"""``agot view [DIR ...]``: browse eval runs and saved traces in a local web app.

DIR may be a run folder (``agot eval --out DIR``), a folder of run folders, a results.jsonl or
a trace file (``agot solve --trace FILE``); the default is ``runs``. The server binds to
127.0.0.1 unless ``--host`` says otherwise: the pages show every prompt and reply a run kept.
``--export FILE.html`` writes all pages into one self-contained file instead of serving.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_PORT = 7576
LOOPBACK = ("127.0.0.1", "localhost", "::1")
HELP = "browse runs and traces in a local web viewer (or --export one HTML file)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="DIR", help="run folders, folders of runs, or trace files"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); pages answer only requests addressed to "
        "loopback names or to this address (a guard against DNS rebinding)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--export", default=None, metavar="FILE.html", help="write one self-contained HTML file"
    )
    parser.add_argument("--open", action="store_true", help="open the viewer in a browser")


def _require_view_extra() -> None:
    from agot.errors import ConfigError
    from agot.extras import install_hint

    missing = []
    for module in ("starlette", "uvicorn", "jinja2", "numpy"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        hint = install_hint("starlette")
        raise ConfigError(f"agot view needs {', '.join(missing)}: {hint}")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agot.errors import ConfigError

    _require_view_extra()
    from agot.view.data import Catalog

    paths = args.paths or ["runs"]
    if not args.paths and not Path("runs").exists():
        raise ConfigError(
            "no runs folder here: pass run folders or trace files, e.g. agot view runs/x"
        )
    catalog = Catalog(paths)
    if args.export:
        from agot.view.export import write_export

        target = write_export(catalog, args.export)
        print(f"wrote {target}", file=sys.stderr)
        return 0
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    import uvicorn

    from agot.view.app import create_app

    if args.host not in LOOPBACK:
        print(
            f"agot: warning: serving on {args.host}: anyone who can reach this address sees "
            "every prompt and reply of these runs",
            file=sys.stderr,
        )
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/"
    runs, traces = len(catalog.run_ids()), len(catalog.traces())
    print(
        f"agot view: {runs} run{'s' * (runs != 1)}, {traces} trace{'s' * (traces != 1)} at {url}",
        file=sys.stderr,
    )
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        from agot.view.hosts import HostPolicy

        app = create_app(catalog, hosts=HostPolicy.for_bind(args.host))
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except OSError as exc:
        raise ConfigError(f"cannot serve on {args.host}:{args.port}: {exc.strerror}") from None
    return 0
