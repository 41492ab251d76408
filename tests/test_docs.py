"""The documentation site builds with --strict (a broken link, a missing page or reference
fails), and its generated reference leaves no setting without help."""

import dataclasses
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def docs_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                            cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    configuration = (tmp_path / "site" / "configuration" / "index.html").read_text()
    assert "train.keep_checkpoints" in configuration and "<!-- generated" not in configuration
    assert "--overwrite" in (tmp_path / "site" / "cli" / "index.html").read_text()
    assert "cyclegan.image_pool" in (tmp_path / "site" / "families" / "cyclegan" / "index.html").read_text()


def test_every_setting_has_help_taken_from_the_code():
    from tfgan_app import config
    from tfgan_app.gans.registry import families

    hooks = docs_hooks()
    sections = [config.DataConfig, config.ModelConfig, config.LossConfig, config.OptimizerConfig, config.TrainConfig,
                config.SamplingConfig, config.EvaluationConfig, config.ExportConfig,
                *(family.settings for family in families().values())]
    missing = [f"{cls.__name__}.{field.name}" for cls in sections for field in dataclasses.fields(cls)
               if field.name not in ("pipeline", "family_settings") and not hooks.field_help(cls).get(field.name)]
    assert not missing, f"fields without a comment: {missing}"
    assert "`train.batch_size` | int | `64` | >= 1 |" in hooks.config_reference()


def test_the_project_text_states_what_is_true_now():
    """No development history (sessions, commit-like hashes as names) in what users read."""
    import re

    pattern = re.compile(r"session [0-9]|@[0-9a-f]{12}", re.IGNORECASE)
    roots = ["README.md", "docs", "pipelines", "tfgan_app", "benchmarks", "mkdocs.yml"]
    found = []
    for root in roots:
        path = REPO / root
        for file in ([path] if path.is_file() else sorted(path.rglob("*"))):
            if file.is_file() and file.suffix in (".md", ".py", ".toml", ".json", ".yml", ".cfg"):
                for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
                    if pattern.search(line):
                        found.append(f"{file.relative_to(REPO)}:{number}: {line.strip()[:100]}")
    assert not found, "\n".join(found[:30])
