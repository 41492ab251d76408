"""A family against the baseline its paper beats, at equal minutes on one machine:
sound, text and video.

    python benchmarks/baselines.py audio|text|video [--out runs/<contest>] [--num N] [--reuse] [--samples DIR]
        [--set KEY=VALUE ...] [--baseline-set KEY=VALUE ...]

| contest | pipeline (its committed budget) | baseline (stopped at the same minutes) | measured on |
|---|---|---|---|
| audio | ``notes_gansynth`` | ``notes_wavegan`` | the pinned pitch classifier |
| text | ``fortunes_wgan_gp_text`` | ``fortunes_char_lm`` | the text itself (n-grams, wamerican) |
| video | ``moving_fashion_mnist_mocogan`` | ``moving_fashion_mnist_video`` | the pinned clip and frame classifiers |

1. The pipeline trains at its committed defaults (``python -m tfgan_app.train``, export off);
   its wall-clock minutes, start-up included, are the budget.
2. The baseline trains with an open-ended step count and is interrupted (SIGINT: the trainer
   saves a checkpoint and stops) when its wall clock reaches the same minutes.
3. ``python -m tfgan_app.evaluate --run`` measures each at its last checkpoint on ``--num``
   samples against as many real test examples, and once ``--real-floor``.
4. Both are exported and ``generate`` writes a few samples of each into ``--samples``
   (notes C3, C4, C5 as WAV files with spectrograms; text lines; a contact sheet of clips).
   MoCoGAN's export is also asked how often a held content code brings the same item back
   under new motion noise (``held_content``).

Writes ``benchmarks/<contest>.json``, records both pipelines' rows in the model zoo
(``zoo.json``, then ``zoo.md`` and the README's table) and prints the table for
benchmarks/README.md. ``--reuse`` measures runs already in ``--out`` without training them
again; ``--record`` only records an existing ``benchmarks/<contest>.json`` in the zoo.

``--set`` and ``--baseline-set`` change the pipeline's and the baseline's settings (the same
change for both is an equal-footing test of it). Such a contest is an exploration, not the
committed defaults: its results go to ``<out>/results.json`` and its samples to
``<out>/samples``, and the zoo is left as it is.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OPEN_ENDED_STEPS = 10**7


class Contest(NamedTuple):
    pipeline: str
    baseline: str
    num: int  # generated samples per measurement
    columns: tuple[str, ...]  # the figures of the printed table
    samples: tuple[tuple[str, ...], ...]  # generate's extra arguments per sample set (with its name first)


CONTESTS = {
    "audio": Contest("notes_gansynth", "notes_wavegan", 2000,
                     ("pitch_accuracy", "pitch_entropy", "fid", "ndb"),
                     tuple((pitch, "--label", pitch, "--num", "2") for pitch in ("C3", "C4", "C5"))),
    "text": Contest("fortunes_wgan_gp_text", "fortunes_char_lm", 10000,
                    ("jsd_1", "jsd_2", "jsd_3", "jsd_4", "dictionary_share", "bleu_4", "self_bleu_4"),
                    (("samples.txt", "--num", "20"),)),
    "video": Contest("moving_fashion_mnist_mocogan", "moving_fashion_mnist_video", 2000,
                     ("fvd", "frame_fid", "content_consistency"),
                     (("contact_sheet.png", "--num", "8"),)),
}


def train(pipeline: str, run_dir: Path, minutes: float | None, overrides: Sequence[str] = ()) -> float:
    """Train ``pipeline`` into ``run_dir`` (with ``overrides``, KEY=VALUE): at its budget, or
    for ``minutes`` of wall clock (then interrupted). Returns the wall-clock minutes it took."""
    command = [sys.executable, "-m", "tfgan_app.train", "--pipeline", pipeline, "--out", str(run_dir),
               "--set", "export.enabled=false", *[part for override in overrides for part in ("--set", override)]]
    if minutes is not None:
        command += ["--steps", str(OPEN_ENDED_STEPS)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO)
    try:
        process.wait(timeout=None if minutes is None else minutes * 60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # the trainer checkpoints and stops
        process.wait()
    if process.returncode not in (0, 130) and minutes is None:
        raise SystemExit(f"training {pipeline} failed (exit {process.returncode})")
    return round((time.monotonic() - started) / 60, 1)


def evaluate(run_dir: Path, num: int, out: Path, floor: bool) -> dict:
    command = [sys.executable, "-m", "tfgan_app.evaluate", "--run", str(run_dir), "--checkpoint", "latest",
               "--num", str(num), "--json", str(out), "--overwrite"] + (["--real-floor"] if floor else [])
    subprocess.run(command, cwd=REPO, check=True)
    return json.loads(out.read_text())


def figures(rows: list[dict]) -> dict:
    return {row["metric"]: round(row["value"], 4) for row in rows if not row["metric"].startswith(" ")}


def write_samples(run_dir: Path, models: Path, samples: Path, name: str, sets: tuple[tuple[str, ...], ...]) -> None:
    subprocess.run([sys.executable, "-m", "tfgan_app.export", "--run", str(run_dir), "--out", str(models),
                    "--name", name, "--formats", "savedmodel"], cwd=REPO, check=True)
    for target, *arguments in sets:
        subprocess.run([sys.executable, "-m", "tfgan_app.generate", "--model", str(models / name), *arguments,
                        "--out", str(samples / name / target), "--overwrite"], cwd=REPO, check=True)


HELD_CONTENT_CLIPS = 1000


def held_content(model: Path, seed: int = 0) -> dict:
    """MoCoGAN's content/motion split on its export: clips in pairs with one content code and
    two draws of the motion noise, against pairs with two content codes (the chance level):
    how often the frame classifier sees the same item in both (``metrics.video``)."""
    import numpy as np
    import tensorflow as tf

    from tfgan_app.metrics.features import classifier_folder, load_domain_classifier
    from tfgan_app.metrics.video import held_content_agreement

    version = max(int(path.name) for path in model.iterdir() if path.name.isdigit())
    serve = tf.saved_model.load(str(model / str(version))).signatures["serving_default"]
    manifest = json.loads((model / str(version) / "export.json").read_text())
    shapes = {entry["name"]: entry["shape"] for entry in manifest["inputs"]}
    rng = np.random.default_rng(seed)
    count = HELD_CONTENT_CLIPS

    def clips(content: np.ndarray) -> np.ndarray:
        motion = rng.standard_normal((count, *shapes["z_motion"])).astype(np.float32)
        return np.concatenate([serve(z_content=tf.constant(content[start : start + 250]),
                                     z_motion=tf.constant(motion[start : start + 250]))["video"].numpy()
                               for start in range(0, count, 250)])

    content = rng.standard_normal((count, *shapes["z_content"])).astype(np.float32)
    frames, _ = load_domain_classifier(classifier_folder("moving_fashion_mnist_frames"))
    held = held_content_agreement(clips(content), clips(content), frames)
    other = held_content_agreement(clips(content), clips(content[rng.permutation(count)]), frames)
    return {"held_content_agreement": round(held, 4), "other_content_agreement": round(other, 4)}


def record_in_zoo(results: dict) -> None:
    """Both pipelines' figures as model-zoo rows, with the contest's machine, date, commit and
    command; the zoo's Markdown and the README's table are rendered again."""
    from benchmarks import zoo

    table = json.loads(zoo.ZOO_JSON.read_text())
    for pipeline, row in results["rows"].items():
        figures = {key: value for key, value in row.items() if key not in ("minutes", "step")}
        table["rows"][pipeline] = {**figures, "train_minutes": row["minutes"], "steps": row["step"],
                                   **{key: results[key] for key in ("machine", "date", "commit", "command")}}
    zoo.ZOO_JSON.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    zoo.render(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("contest", choices=sorted(CONTESTS))
    parser.add_argument("--out", type=Path, help="run folders (default runs/<contest>)")
    parser.add_argument("--num", type=int, help="generated samples per measurement (default: the contest's)")
    parser.add_argument("--reuse", action="store_true", help="measure the runs in --out without training")
    parser.add_argument("--samples", type=Path, help="where the samples go (default docs/samples/<contest>)")
    parser.add_argument("--record", action="store_true", help="record benchmarks/<contest>.json in the zoo, nothing else")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting of the pipeline")
    parser.add_argument("--baseline-set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the baseline")
    args = parser.parse_args(argv)
    from benchmarks.zoo import commit, machine

    contest = CONTESTS[args.contest]
    out = args.out or REPO / "runs" / args.contest
    exploring = bool(args.set or args.baseline_set)  # not the committed defaults: kept out of the zoo
    samples = args.samples or (out / "samples" if exploring else REPO / "docs" / "samples" / args.contest)
    num = args.num or contest.num
    results_file = out / "results.json" if exploring else REPO / "benchmarks" / f"{args.contest}.json"
    overrides = {contest.pipeline: args.set, contest.baseline: args.baseline_set}
    if args.record and exploring:
        raise SystemExit("--record records the committed defaults' contest; leave out --set and --baseline-set")
    if args.record:
        record_in_zoo(json.loads(results_file.read_text()))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    results = json.loads(results_file.read_text()) if args.reuse and results_file.is_file() else {}
    minutes = {}
    for pipeline in (contest.pipeline, contest.baseline):
        run_dir = out / pipeline
        if args.reuse and (run_dir / "run.json").is_file():
            minutes[pipeline] = results.get("rows", {}).get(pipeline, {}).get("minutes")
            continue
        if run_dir.exists():
            raise SystemExit(f"{run_dir} exists: pass --reuse to measure it, or remove it to train again")
        budget = None if pipeline == contest.pipeline else minutes[contest.pipeline]
        minutes[pipeline] = train(pipeline, run_dir, budget, overrides[pipeline])
        print(f"{pipeline}: trained {minutes[pipeline]} min", flush=True)
    rows, floor = {}, None
    for pipeline in (contest.pipeline, contest.baseline):
        run_dir = out / pipeline
        measured = evaluate(run_dir, num, out / f"{pipeline}.json", floor=floor is None)
        floor = floor or figures(measured["real_floor"])
        info = json.loads((run_dir / "run.json").read_text())
        rows[pipeline] = {**figures(measured["metrics"]), "minutes": minutes[pipeline], "step": info["step"],
                          "extractor": measured["metrics"][0]["extractor"]}
        write_samples(run_dir, out / "models", samples, pipeline, contest.samples)
        if pipeline == "moving_fashion_mnist_mocogan":
            rows[pipeline].update(held_content(out / "models" / pipeline))
    results = {
        "rows": rows, "real_floor": floor, "num": num, "machine": machine(), "date": time.strftime("%Y-%m-%d"),
        "commit": commit(), "command": " ".join(["python benchmarks/baselines.py", args.contest,
                                                *[f"--set {item}" for item in args.set],
                                                *[f"--baseline-set {item}" for item in args.baseline_set]]),
    }
    results_file.write_text(json.dumps(results, indent=2) + "\n")
    if exploring:
        print(f"{results_file}: an exploration with changed settings, not recorded in the zoo")
    else:
        record_in_zoo(results)
    columns = (*contest.columns, "minutes", "step")
    print("| pipeline | " + " | ".join(columns) + " |\n" + "|---" * (len(columns) + 1) + "|")
    for name, row in [*rows.items(), ("real test data (floor)", floor)]:
        print(f"| {name} | " + " | ".join(f"{row.get(column, '-')}" for column in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
