"""Audio: ``notes_gansynth`` at its default budget against its baseline ``notes_wavegan``
trained for the same minutes, on the pinned pitch classifier.

    python benchmarks/audio.py [--out runs/audio] [--num 2000] [--reuse] [--samples docs/samples/audio]

1. ``notes_gansynth`` trains at its committed defaults (``python -m tfgan_app.train``, export
   off); its wall-clock minutes, start-up included, are the budget.
2. ``notes_wavegan`` trains with an open-ended step count and is interrupted (SIGINT: the
   trainer saves a checkpoint and stops) when its wall clock reaches the same minutes.
3. ``python -m tfgan_app.evaluate --run`` measures each at its last checkpoint on ``--num``
   samples (the pitches in turn) against as many real test notes (held-out instruments),
   and once ``--real-floor``: pitch accuracy, pitch entropy, FID and NDB (K = 50) on the
   pinned pitch classifier (``tfgan_app.metrics.audio``).
4. Both are exported and ``generate`` writes a few notes of each (C3, C4, C5) as WAV files
   with their spectrograms into ``--samples``.

Writes ``benchmarks/audio.json`` and prints the table for benchmarks/README.md. ``--reuse``
measures runs already in ``--out`` without training them again.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "audio.json"
OPEN_ENDED_STEPS = 10**7
SAMPLE_PITCHES = ("C3", "C4", "C5")


def train(pipeline: str, run_dir: Path, minutes: float | None) -> float:
    """Train ``pipeline`` into ``run_dir``: at its defaults, or for ``minutes`` of wall clock
    (then interrupted). Returns the wall-clock minutes the run took."""
    command = [sys.executable, "-m", "tfgan_app.train", "--pipeline", pipeline, "--out", str(run_dir),
               "--set", "export.enabled=false"]
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


def write_samples(run_dir: Path, models: Path, samples: Path, name: str) -> None:
    subprocess.run([sys.executable, "-m", "tfgan_app.export", "--run", str(run_dir), "--out", str(models),
                    "--name", name, "--formats", "savedmodel"], cwd=REPO, check=True)
    for pitch in SAMPLE_PITCHES:
        out = samples / name / pitch
        subprocess.run([sys.executable, "-m", "tfgan_app.generate", "--model", str(models / name), "--label", pitch,
                        "--num", "2", "--out", str(out), "--overwrite"], cwd=REPO, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "audio")
    parser.add_argument("--num", type=int, default=2000, help="generated notes per measurement")
    parser.add_argument("--reuse", action="store_true", help="measure the runs in --out without training")
    parser.add_argument("--samples", type=Path, default=REPO / "docs" / "samples" / "audio")
    args = parser.parse_args(argv)
    from benchmarks.zoo import commit, machine

    args.out.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if args.reuse and RESULTS.is_file() else {}
    minutes = {}
    for pipeline in ("notes_gansynth", "notes_wavegan"):
        run_dir = args.out / pipeline
        if args.reuse and (run_dir / "run.json").is_file():
            minutes[pipeline] = results.get("rows", {}).get(pipeline, {}).get("minutes")
            continue
        if run_dir.exists():
            raise SystemExit(f"{run_dir} exists: pass --reuse to measure it, or remove it to train again")
        budget = None if pipeline == "notes_gansynth" else minutes["notes_gansynth"]
        minutes[pipeline] = train(pipeline, run_dir, budget)
        print(f"{pipeline}: trained {minutes[pipeline]} min", flush=True)
    rows, floor = {}, None
    for pipeline in ("notes_gansynth", "notes_wavegan"):
        run_dir = args.out / pipeline
        measured = evaluate(run_dir, args.num, args.out / f"{pipeline}.json", floor=floor is None)
        floor = floor or figures(measured["real_floor"])
        info = json.loads((run_dir / "run.json").read_text())
        rows[pipeline] = {**figures(measured["metrics"]), "minutes": minutes[pipeline], "step": info["step"],
                          "extractor": measured["metrics"][0]["extractor"]}
        write_samples(run_dir, args.out / "models", args.samples, pipeline)
    results = {
        "rows": rows, "real_floor": floor, "num": args.num, "machine": machine(), "date": time.strftime("%Y-%m-%d"),
        "commit": commit(), "command": "python benchmarks/audio.py",
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    columns = ("pitch_accuracy", "pitch_entropy", "fid", "ndb", "minutes", "step")
    print("| pipeline | " + " | ".join(columns) + " |\n|---" * (len(columns) + 1) + "|")
    for name, row in [*rows.items(), ("real test notes (floor)", floor)]:
        print(f"| {name} | " + " | ".join(f"{row.get(column, '-')}" for column in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
