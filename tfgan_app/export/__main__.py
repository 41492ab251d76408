"""``python -m tfgan_app.export``: export a run's generator(s) as SavedModel and ONNX.

    python -m tfgan_app.export --run runs/fashion_mnist_dcgan-... [--name NAME] [--version N]
                               [--out saved_models] [--formats savedmodel,onnx,web]
                               [--checkpoint latest|best]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path



def build_parser(prog: str = "python -m tfgan_app.export") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Export a run's generator(s) as a TF Serving SavedModel and an ONNX model, verified.",
        epilog="examples:\n  %(prog)s --run runs/cgan\n  %(prog)s --run runs/best --checkpoint best --formats savedmodel",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--run", type=Path, required=True, help="run directory with checkpoints")
    parser.add_argument("--name", default="", help="model name (default: the run's pipeline name)")
    parser.add_argument("--version", type=int, help="version number to write (default: the next free one)")
    parser.add_argument("--out", type=Path, default=Path("saved_models"),
                        help="folder of exported models, TF Serving's model_base_path's parent (default saved_models)")
    parser.add_argument("--formats", default="savedmodel,onnx,web",
                        help="savedmodel, onnx, web (a page running the ONNX model in the browser; needs onnx), "
                        "comma-separated (default all three)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17; default 17)")
    parser.add_argument("--checkpoint", default="latest", metavar="latest|best|STEP",
                        help="latest, best (the checkpoint the run's periodic evaluation kept) or a step number "
                        "(default latest)")
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m tfgan_app.export") -> int:
    from tfgan_app import quiet

    quiet.install(debug=False)  # before TensorFlow starts: its chatter is not the command's output
    args = build_parser(prog).parse_args(argv)
    if args.opset < 17:
        print(f"error: --opset {args.opset}: the export needs ONNX opset 17 or newer (ONNX Runtime runs 17-21)",
              file=sys.stderr)
        return 2

    from tfgan_app.config import ConfigError, export_formats
    from tfgan_app.export.exporter import ExportError, export_run

    try:
        results = export_run(
            args.run, args.out, args.name, args.version,
            export_formats(args.formats), args.opset,
            checkpoint=args.checkpoint,
        )
    except (ExportError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only --out
        print(f"error: {error.strerror or error} ({error.filename or args.out}); nothing was left in place",
              file=sys.stderr)
        return 1
    print_results(results)
    return 0


def print_results(results) -> None:
    for result in results:
        parity = result.manifest["parity"]["max_abs_difference"]
        print(f"exported {result.name} version {result.version} to {result.path}")
        for label, differences in parity.items():
            print(f"  {label}: max |difference| vs Keras {max(differences.values()):.2e}")
        print(f"  TF Serving: --model_name={result.name} --model_base_path={result.path.parent.resolve()}")
        if "web" in result.manifest:
            print(f"  in the browser: tfgan serve --web {result.path.parent}")


if __name__ == "__main__":
    sys.exit(main())
