"""``python -m tfgan_app.data``: fetch the emoji data, render the instrument notes, inspect and
prepare image folders.

    python -m tfgan_app.data fetch emoji [--root DIR]
    python -m tfgan_app.data fetch notes [--root DIR]
    python -m tfgan_app.data inspect FOLDER [--labels FILE.csv|FILE.json] [--json F]
    python -m tfgan_app.data prepare FOLDER --out DIR [--size 64] [--channels 3]
                                     [--square crop|pad] [--filter lanczos] [--labels FILE]
                                     [--keep-duplicates]

Prepared data trains with ``--set data.name=prepared --set data.folder=DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def build_parser(prog: str = "python -m tfgan_app.data") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Fetch the emoji data, inspect and prepare image folders.",
        epilog="examples:\n" + __doc__.split("\n\n")[1].replace("python -m tfgan_app.data", prog)
        + "\n\n" + __doc__.split("\n\n")[2].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{fetch,inspect,prepare}")
    fetch = commands.add_parser("fetch", help="fetch a dataset from a package registry")
    fetch.add_argument("dataset", choices=("emoji", "notes", "web"),
                       help="the dataset to fetch (emoji: Noto and Twemoji from npm; notes: instrument notes rendered "
                       "by fluidsynth from the Fluid R3 SoundFont; web: onnxruntime-web from npm, the browser runtime "
                       "of the web export)")
    fetch.add_argument("--root", type=Path, help="default: $TFGAN_APP_DATA or ~/.cache/tfgan_app/data")
    inspect = commands.add_parser("inspect", help="what an image folder holds")
    inspect.add_argument("folder", type=Path, help="the folder of images (subfolders are classes)")
    inspect.add_argument("--labels", type=Path, help="CSV (file,label) or JSON ({file: label})")
    inspect.add_argument("--json", type=Path, help="also write the report as JSON")
    inspect.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    prepare = commands.add_parser("prepare", help="convert an image folder once for training")
    prepare.add_argument("folder", type=Path, help="the folder of images (subfolders are classes)")
    prepare.add_argument("--out", type=Path, required=True, help="a new or empty folder for the prepared arrays")
    prepare.add_argument("--size", type=int, default=64, help="side of the square images (default 64)")
    prepare.add_argument("--channels", type=int, choices=(1, 3), default=3, help="1 (grayscale) or 3 (RGB; default)")
    prepare.add_argument("--square", choices=("crop", "pad"), default="crop",
                         help="non-square images: crop the centre or pad with white (default crop)")
    prepare.add_argument("--filter", default="lanczos", help="nearest, bilinear, bicubic, lanczos or box")
    prepare.add_argument("--labels", type=Path, help="CSV (file,label) or JSON ({file: label}) instead of subfolders")
    prepare.add_argument("--keep-duplicates", action="store_true", help="keep exact duplicates (skipped by default)")
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m tfgan_app.data") -> int:
    from tfgan_app import quiet

    quiet.install(debug=False)  # before TensorFlow starts: its chatter is not the command's output
    parser = build_parser(prog)
    args = parser.parse_args(argv)

    from tfgan_app.data.audio import AudioError
    from tfgan_app.data.emoji import EmojiDataError
    from tfgan_app.data.folder import ImageFolderError
    from tfgan_app.data.npm import NpmError
    from tfgan_app.outputs import OutputExistsError, refuse_existing

    try:
        if args.command == "fetch" and args.dataset == "notes":
            from tfgan_app.data.audio import load_notes, render_notes
            from tfgan_app.data.emoji import default_root

            folder = render_notes((args.root or default_root()) / "notes")
            print(f"{folder}: {len(load_notes(folder, 'train').pitch)} train and {len(load_notes(folder, 'test').pitch)} "
                  "test notes (held-out instruments)")
        elif args.command == "fetch" and args.dataset == "web":
            from tfgan_app.export.web import PACKAGE, VERSION, fetch_runtime

            print(f"{fetch_runtime(args.root)}: {PACKAGE}@{VERSION}")
        elif args.command == "fetch":
            from tfgan_app.data.emoji import fetch as fetch_emoji

            for folder in fetch_emoji(args.root):
                print(f"{folder}: {len(list((folder / '64').glob('*.png')))} images")
        elif args.command == "inspect":
            from tfgan_app.data.tool import format_report, inspect_folder

            if args.json:
                refuse_existing(args.json, "--json", args.overwrite)
            report = inspect_folder(args.folder, args.labels)
            print(format_report(report))
            if args.json:
                args.json.write_text(json.dumps(report, indent=2) + "\n")
        else:
            from tfgan_app.data.tool import PrepareSettings, prepare_folder

            settings = PrepareSettings(args.size, args.channels, args.square, args.filter, not args.keep_duplicates)
            manifest = prepare_folder(args.folder, args.out, settings, args.labels)
            print(f"prepared {manifest['count']} images of {manifest['shape']} into {args.out}; "
                  f"skipped {len(manifest['skipped'])}")
            for entry in manifest["skipped"][:20]:
                print(f"  skipped {entry['file']}: {entry['reason']}")
            print(f"train on it: --set data.name=prepared --set data.folder={args.out}")
    except (EmojiDataError, NpmError, ImageFolderError, AudioError, OutputExistsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
