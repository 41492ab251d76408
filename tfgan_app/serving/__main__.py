"""``tfgan serve --web saved_models/NAME``: show an export's page (its ``web/`` folder, written
by the ``web`` export format) in the browser, from a local server on 127.0.0.1.

    tfgan serve --web saved_models/fashion_mnist_cgan [--version V] [--port 8080]

Prints the URL; Ctrl-C (or SIGTERM) stops the server. The page runs the ONNX model in the
browser; the folder is static, so any static file server shows it as well.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path


def build_parser(prog: str = "python -m tfgan_app.serving") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve an export's web page (the ONNX model running in the browser) on 127.0.0.1.",
        epilog="examples:\n  %(prog)s --web saved_models/fashion_mnist_cgan\n  %(prog)s --web saved_models/notes_gansynth --port 9000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--web", type=Path, required=True, metavar="MODEL_DIR", help="an exported model folder: saved_models/NAME")
    parser.add_argument("--version", type=int, help="the version to show (default: the newest)")
    parser.add_argument("--port", type=int, default=8080, help="the port on 127.0.0.1 (default 8080; 0: any free one)")
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m tfgan_app.serving") -> int:
    args = build_parser(prog).parse_args(argv)
    from tfgan_app.generate import GenerateError, resolve_version
    from tfgan_app.serving.web import page_server

    try:
        version_dir = resolve_version(args.web, args.version)
    except (GenerateError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    page = version_dir / "web"
    if not (page / "index.html").is_file():
        print(f"error: {version_dir} has no web page (web/index.html): export it with the web format "
              f"(tfgan export --run RUN --formats savedmodel,onnx,web)", file=sys.stderr)
        return 2
    try:
        server = page_server(page, args.port)
    except OSError as error:
        print(f"error: port {args.port} on 127.0.0.1: {error.strerror or error}; choose another with --port", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    # Ctrl-C and SIGTERM (a service manager's stop) both stop it, also where the shell that
    # started it in the background left SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _raise_keyboard_interrupt)
    print(f"{version_dir.parent.name} v{version_dir.name}: http://{host}:{port}/  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.server_close()
    return 0


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
