"""``python -m tfgan_app.train``: train a GAN from a pipeline file.

Examples::

    python -m tfgan_app.train                                   # Fashion-MNIST DCGAN
    python -m tfgan_app.train --pipeline toy_ring_mlp --steps 200 --out runs/ring
    python -m tfgan_app.train --set train.batch_size=128 --set loss.label_smoothing=0.1
    python -m tfgan_app.train --out runs/ring --resume          # continue a run
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from tfgan_app.config import DEFAULT_PIPELINE, ConfigError, available_pipelines
from tfgan_app.training.strategy import STRATEGIES

EXIT_CODES = {"completed": 0, "non_finite": 1, "interrupted": 130}


def build_parser(prog: str = "python -m tfgan_app.train") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n")[0].replace("``python -m tfgan_app.train``: ", ""),
        epilog="examples:" + __doc__.split("Examples::", 1)[1].rstrip().replace("python -m tfgan_app.train", prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pipeline", default=None,
        help=f"pipeline name or file (default {DEFAULT_PIPELINE}; "
        f"available: {', '.join(available_pipelines())})",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config field, e.g. --set train.batch_size=128 (repeatable)",
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="train until this step (generator updates)")
    length.add_argument("--epochs", type=float, help="train for this many passes over the data")
    parser.add_argument("--out", type=Path, help="run directory (default runs/<pipeline>-<time>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--seed", type=int, help="random seed (data order, noise, weights)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="auto",
                        help="auto: MirroredStrategy over several GPUs, else one device; multiworker: across "
                        "machines from TF_CONFIG (default auto)")
    parser.add_argument("--init-from", type=Path, metavar="RUN_DIR",
                        help="start a new run from another run's trained networks (fine-tuning)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    return parser


def parse_args(argv: list[str] | None = None, prog: str = "python -m tfgan_app.train") -> argparse.Namespace:
    return build_parser(prog).parse_args(argv)


def flag_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with a combination or value of flags, before anything is loaded."""
    import math

    if args.resume and args.out is None:
        return "--resume needs --out RUN_DIR (the run to continue)"
    if args.resume and args.init_from is not None:
        return "--init-from starts a new run from another run's networks; --resume continues the run in --out: give one of them"
    if args.steps is not None and args.steps < 1:
        return f"--steps {args.steps}: nothing to train; give N >= 1 (the step to train until)"
    if args.epochs is not None and not (math.isfinite(args.epochs) and args.epochs > 0):
        return f"--epochs {args.epochs}: give a number of passes over the data > 0 (e.g. 0.5 or 10)"
    return None


def resolve_config(args: argparse.Namespace):
    """Pipeline file (or the run's saved config when resuming) <- --set <- flags."""
    # Imported here, not above: it starts TensorFlow, which must wait for the quiet start-up.
    from tfgan_app.gans.registry import load_config

    overrides = list(args.overrides)
    if args.steps is not None:
        overrides += [f"train.steps={args.steps}", "train.epochs=0"]
    if args.epochs is not None:
        overrides.append(f"train.epochs={args.epochs}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.resume:
        saved = args.out / "config.json"
        if not saved.is_file():
            raise ConfigError(
                f"--resume: {args.out} holds no run (no config.json); check the path, or drop --resume "
                "to start a new run there"
            )
        if args.pipeline is not None and not _same_pipeline(args.pipeline, saved):
            raise ConfigError(
                f"--resume continues with {saved}, which came from another pipeline than --pipeline "
                f"{args.pipeline}; drop --pipeline (change fields with --set)"
            )
        return load_config(str(saved), overrides)
    return load_config(args.pipeline or DEFAULT_PIPELINE, overrides)


def _same_pipeline(name_or_path: str, saved: Path) -> bool:
    """Whether ``--pipeline`` names the file the run was made from (rerunning the same
    command with ``--resume`` is what most people type)."""
    import json

    from tfgan_app.config import find_pipeline

    origin = json.loads(saved.read_text()).get("pipeline", "")
    try:
        return bool(origin) and find_pipeline(name_or_path).resolve() == Path(origin).resolve()
    except ConfigError:
        return False


def _fail(args: argparse.Namespace, error, code: int) -> int:
    """Print one message (the traceback too with --debug) and return the exit code:
    2 = bad input, 1 = a failure at run time."""
    if args.debug:
        import traceback

        traceback.print_exc()
    print(f"error: {error}", file=sys.stderr)
    if not args.debug and code == 1:
        print("(rerun with --debug for the traceback)", file=sys.stderr)
    return code


def main(argv: list[str] | None = None, prog: str = "python -m tfgan_app.train") -> int:
    from tfgan_app import quiet

    quiet.install(debug="--debug" in (sys.argv[1:] if argv is None else argv))  # before TensorFlow starts: its chatter is not the command's output
    args = parse_args(argv, prog)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    problem = flag_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        config = resolve_config(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run_dir = args.out or Path("runs") / f"{Path(config.pipeline).stem}-{time.strftime('%Y%m%d-%H%M%S')}"

    from tfgan_app.data import DataError, IdxError, ImageFolderError  # noqa: E402 (imports TF)
    from tfgan_app.metrics.features import ExtractorError
    from tfgan_app.training.trainer import RunDirError, train

    try:
        result = train(config, run_dir, resume=args.resume, strategy_name=args.strategy, init_from=args.init_from)
    except (DataError, IdxError, ImageFolderError, RunDirError, ExtractorError, ValueError) as error:
        return _fail(args, error, 2)
    except KeyboardInterrupt:
        print(f"error: aborted by a second interrupt; the last checkpoint in {run_dir / 'checkpoints'} is intact "
              "(continue with --resume)", file=sys.stderr)
        return 130
    except OSError as error:  # a full disk, a folder that became read-only
        where = f" ({error.filename})" if error.filename else ""
        return _fail(args, f"{error.strerror or error}{where}: free space or fix permissions, then --resume", 1)
    except Exception as error:  # noqa: BLE001 - one message, not a traceback; --debug shows it
        return _fail(args, f"training failed: {type(error).__name__}: {error}", 1)
    speed = f", {result.images_per_sec:.0f} images/s" if result.images_per_sec else ""
    print(f"{result.message} in {result.wall_time_s:.1f}s{speed}")
    print(f"weights fingerprint: {result.weights_fingerprint}")
    if not result.chief:
        print(f"worker finished; the chief writes the run directory {run_dir}")
        return EXIT_CODES[result.status]
    print(f"run directory: {run_dir}")
    for name in ("config.json", "run.json", "metrics.jsonl", "checkpoints", "samples", "tensorboard"):
        if (run_dir / name).exists():
            print(f"  {name}")
    latest = sorted((run_dir / "samples").glob("step_*.png"))
    if latest:
        print(f"latest samples: {latest[-1]}")
    print(f"TensorBoard: tensorboard --logdir {run_dir / 'tensorboard'}")
    if result.status == "completed" and config.export.enabled:
        from tfgan_app.export.__main__ import print_results
        from tfgan_app.export.exporter import ExportError, export_from_config

        try:
            print_results(export_from_config(config, run_dir))
        except ExportError as error:
            print(f"error: export failed, the run is intact: {error}", file=sys.stderr)
            return 2
    return EXIT_CODES[result.status]


if __name__ == "__main__":
    sys.exit(main())
