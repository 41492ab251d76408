"""``tfgan``: one command for the whole product, each subcommand the module of the same name.

    tfgan train --pipeline fashion_mnist_cgan --out runs/cgan
    tfgan export --run runs/cgan
    tfgan generate --model saved_models/fashion_mnist_cgan --label 7 --out sneakers.png
    tfgan evaluate --run runs/cgan --real-floor
    tfgan data inspect photos/
    tfgan serve --web saved_models/fashion_mnist_cgan

``python -m tfgan_app.<module>`` runs the same code; ``tfgan SUBCOMMAND --help`` shows every
flag of a subcommand with its examples.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand: (module, one line for the listing)
SUBCOMMANDS = {
    "train": ("tfgan_app.train", "train a pipeline (and export it), resume a run"),
    "export": ("tfgan_app.export.__main__", "export a run's generator as SavedModel, ONNX and a web page, verified"),
    "generate": ("tfgan_app.generate", "samples, translations or predictions from an export"),
    "evaluate": ("tfgan_app.evaluate", "FID, KID, precision/recall, class agreement, modes; train-classifier; score"),
    "data": ("tfgan_app.data.__main__", "fetch the emoji, inspect and prepare image folders"),
    "serve": ("tfgan_app.serving.__main__", "show an export's web page (the ONNX model in the browser) on 127.0.0.1"),
}


def build_parser() -> argparse.ArgumentParser:
    from tfgan_app import __version__

    parser = argparse.ArgumentParser(
        prog="tfgan", description="Train GANs with TensorFlow/Keras 3 and ship their generators.",
        epilog="examples:\n" + __doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tfgan_app {__version__}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    for name, (_, summary) in SUBCOMMANDS.items():
        # The subcommand's own parser reads its arguments (and answers its --help).
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from tfgan_app import quiet

    quiet.install(debug="--debug" in argv)  # before any subcommand imports TensorFlow
    parser = build_parser()
    args, rest = parser.parse_known_args(argv[:1])
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    return module.main(argv[1:], prog=f"tfgan {args.command}")


if __name__ == "__main__":
    sys.exit(main())
