"""The one command: ``tfgan`` lists every subcommand, every flag of every subcommand has help,
``--help`` shows examples, and the ``python -m`` modules keep working."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from tfgan_app import cli
from tfgan_app import evaluate as evaluate_cli
from tfgan_app import generate as generate_cli
from tfgan_app import train as train_cli
from tfgan_app.data import __main__ as data_cli
from tfgan_app.export import __main__ as export_cli

REPO = Path(__file__).resolve().parent.parent
PARSERS = {
    "tfgan": cli.build_parser, "train": train_cli.build_parser, "export": export_cli.build_parser,
    "generate": generate_cli.build_parser, "evaluate": evaluate_cli.build_parser,
    "evaluate train-classifier": evaluate_cli.build_train_classifier_parser,
    "evaluate score": evaluate_cli.build_score_parser, "data": data_cli.build_parser,
}


def every_parser(parser: argparse.ArgumentParser, name: str):
    yield name, parser
    for action in parser._actions:  # argparse exposes subparsers only through its actions
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                if name != "tfgan":  # tfgan's subcommands are the modules' own parsers, walked by name
                    yield from every_parser(sub, f"{name} {sub_name}")


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_flag_of_every_subcommand_has_help(name):
    for label, parser in every_parser(PARSERS[name](), name):
        missing = [action.option_strings or action.dest for action in parser._actions
                   if not action.help and not isinstance(action, argparse._SubParsersAction)]
        assert not missing, f"{label}: flags without help: {missing}"
        if label == name:
            assert parser.epilog and "example" in parser.epilog, f"{label}: --help shows no examples"


def test_tfgan_lists_every_subcommand_and_its_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    listing = capsys.readouterr().out
    assert all(f"    {name} " in listing for name in cli.SUBCOMMANDS)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("tfgan_app ")


def test_a_subcommand_takes_its_own_flags_and_names_itself(capsys, tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["generate", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: tfgan generate") and "--overwrite" in out and "tfgan generate --model" in out
    assert cli.main(["train", "--steps", "0", "--out", str(tmp_path / "r")]) == 2
    assert "--steps 0: nothing to train" in capsys.readouterr().err


def test_the_python_m_modules_keep_working():
    result = subprocess.run([sys.executable, "-m", "tfgan_app.export", "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m tfgan_app.export")


def test_a_training_run_prints_its_own_lines_only(tmp_path):
    """No CUDA, cuInit, oneDNN, absl or sharding lines: TensorFlow's chatter is filtered unless
    the user sets TF_CPP_MIN_LOG_LEVEL (as the test suite itself does)."""
    import os
    import re

    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "tfgan_app.cli", "train", "--pipeline", "toy_ring_mlp", "--steps", "20",
         "--set", "export.enabled=false", "--out", str(tmp_path / "run")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "trained to step 20" in output and "weights fingerprint" in output
    chatter = [line for line in output.splitlines()
               if re.match(r"[IWEF]\d{4} |WARNING: All log messages|WARNING:tensorflow|Sharding callback", line)
               or "cuInit" in line or "cuda" in line.lower() or "oneDNN" in line]
    assert not chatter, chatter
