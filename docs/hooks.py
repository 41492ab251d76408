"""MkDocs hook: the reference pages are generated from the code at build time, so they cannot
drift from it. A page asks for a generated part with an HTML comment on a line of its own:

    <!-- generated: config-reference -->        every config field: type, default, range, help
    <!-- generated: family-settings NAME -->    the [NAME] section of a family
    <!-- generated: families -->                every family with its one-line summary
    <!-- generated: cli-reference -->           every command's --help
    <!-- generated: zoo-table -->               benchmarks/zoo.json as a table
    <!-- generated: zoo-rows NAME[,NAME] -->     the zoo rows of the pipelines of those families
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import re
import sys
import typing
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MARKER = re.compile(r"^<!-- generated: ([\w-]+)(?: ([\w,]+))? -->$", re.MULTILINE)


def field_help(cls: type) -> dict[str, str]:
    """{field: its help}: the comment after it on its line, else the comment block above it;
    a field right under another, with no comment or blank line between, shares that block
    (``generator`` / ``discriminator``). Fields of dataclass parents are included."""
    helps: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        helps.update(_own_field_help(klass))
    return helps


def _own_field_help(cls: type) -> dict[str, str]:
    helps, block, after_field = {}, [], False
    for line in inspect.getsource(cls).splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            if after_field:  # a comment after fields starts the next block
                block, after_field = [], False
            block.append(stripped.lstrip("#").strip())
            continue
        match = re.match(r"(\w+)\s*:\s*[^=]+(?:=\s*(.*))?$", stripped)
        if match and not stripped.startswith(("def ", "@", "class ", "return ")):
            trailing = stripped.split("  # ", 1)[1].strip() if "  # " in stripped else ""
            helps[match.group(1)] = trailing[:1].upper() + trailing[1:] if trailing else " ".join(block)
            after_field = True
        elif not stripped:
            block, after_field = [], False
    return helps


def _type_name(annotation) -> str:
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", str(annotation))


def _allowed(path: str, field: dataclasses.Field) -> str:
    from tfgan_app import config

    if path in config._CHOICES:
        return ", ".join(f"`{choice}`" for choice in config._CHOICES[path] if choice != "") or "-"
    if "choices" in field.metadata:
        return ", ".join(f"`{choice}`" for choice in field.metadata["choices"])
    if path in config._POSITIVE:
        return ">= 1"
    if path in config._NOT_NEGATIVE:
        return ">= 0"
    if "min" in field.metadata:
        return f">= {field.metadata['min']}"
    return ""


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return ""
    if dataclasses.is_dataclass(value):
        return "(section)"
    return f"`{json.dumps(value)}`"


def section_table(cls: type, prefix: str) -> str:
    helps = field_help(cls)
    hints = typing.get_type_hints(cls)
    rows = ["| key | type | default | allowed | what it does |", "|---|---|---|---|---|"]
    for field in dataclasses.fields(cls):
        if field.name in ("family_settings", "pipeline"):
            continue
        value_type = hints.get(field.name, field.type)
        if dataclasses.is_dataclass(value_type):
            continue
        text = (helps.get(field.name) or "").replace("|", "\\|")
        rows.append(f"| `{prefix}{field.name}` | {_type_name(value_type)} | {_default(field)} | "
                    f"{_allowed(prefix + field.name, field)} | {text} |")
    return "\n".join(rows)


def config_reference() -> str:
    from tfgan_app import config

    parts = [f"Top level: `seed` (int, default `{config.Config.seed}`): the run's seed (data order, noise, weights)."]
    sections = [("data", config.DataConfig), ("model", config.ModelConfig), ("loss", config.LossConfig),
                ("optimizer.generator", config.OptimizerConfig), ("optimizer.discriminator", config.OptimizerConfig),
                ("train", config.TrainConfig), ("sampling", config.SamplingConfig),
                ("evaluation", config.EvaluationConfig), ("export", config.ExportConfig)]
    for name, cls in sections:
        parts.append(f"### `[{name}]`\n\n{section_table(cls, name + '.')}")
    parts.append("Every float must be finite. A family's own section is on its page "
                 "([families](families/index.md)).")
    return "\n\n".join(parts)


def family_settings(name: str) -> str:
    from tfgan_app.gans.registry import get_family

    family = get_family(name)
    if not dataclasses.fields(family.settings):
        return f"The `{name}` family has no section of its own."
    shared = ", ".join(f"`{switch}`" for switch in sorted(family.switches)) or "none"
    return (f"`[{name}]` section (`--set {name}.KEY=VALUE`):\n\n{section_table(family.settings, name + '.')}\n\n"
            f"Shared switches it honours: {shared}.")


def families_table() -> str:
    from tfgan_app.gans.registry import families

    rows = ["| `model.family` | what it trains |", "|---|---|"]
    rows += [f"| `{name}` | {family.summary} |" for name, family in sorted(families().items())]
    return "\n".join(rows)


COMMANDS = [
    ("tfgan", "tfgan_app.cli", "build_parser"), ("tfgan train", "tfgan_app.train", "build_parser"),
    ("tfgan export", "tfgan_app.export.__main__", "build_parser"),
    ("tfgan generate", "tfgan_app.generate", "build_parser"), ("tfgan evaluate", "tfgan_app.evaluate", "build_parser"),
    ("tfgan evaluate train-classifier", "tfgan_app.evaluate", "build_train_classifier_parser"),
    ("tfgan evaluate score", "tfgan_app.evaluate", "build_score_parser"),
    ("tfgan data", "tfgan_app.data.__main__", "build_parser"),
    ("tfgan serve", "tfgan_app.serving.__main__", "build_parser"),
]


def cli_reference() -> str:
    """Every command's --help, from the parsers themselves (``python -m tfgan_app.MODULE``
    takes the same flags as ``tfgan MODULE``)."""
    import argparse
    import importlib

    parts = []
    for title, module, builder in COMMANDS:
        build = getattr(importlib.import_module(module), builder)
        parser = build() if title == "tfgan" else build(title)
        parts.append(f"### `{title}`\n\n```text\n{parser.format_help().rstrip()}\n```")
        for action in parser._actions:  # the data command's own subcommands
            if isinstance(action, argparse._SubParsersAction) and title != "tfgan":
                for name, sub in action.choices.items():
                    parts.append(f"### `{title} {name}`\n\n```text\n{sub.format_help().rstrip()}\n```")
    return "\n\n".join(parts)


def _zoo():
    import importlib.util

    # By file: benchmarks/ is a folder of scripts, not an installed package.
    spec = importlib.util.spec_from_file_location("zoo", REPO / "benchmarks" / "zoo.py")
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    return zoo, json.loads(zoo.ZOO_JSON.read_text())


def zoo_table() -> str:
    zoo, committed = _zoo()
    return zoo.render_page(committed)


@functools.cache
def pipeline_families() -> dict[str, str]:
    """{shipped pipeline: its ``model.family``}, read once per build (every family page asks)."""
    from tfgan_app.gans.registry import load_config

    return {path.stem: load_config(path.stem).model.family for path in sorted((REPO / "pipelines").glob("*.toml"))}


def zoo_rows(names: str) -> str:
    """The zoo's rows of the shipped pipelines whose ``model.family`` is one of ``names``."""
    zoo, committed = _zoo()
    wanted = set(names.split(","))
    pipelines = [pipeline for pipeline, family in pipeline_families().items() if family in wanted]
    if not pipelines:
        raise ValueError(f"zoo-rows {names}: no shipped pipeline trains these families")
    return (f"{zoo.render_table(committed, pipelines)}\n\nMeasured on the pinned extractors; each row's command, "
            "machine, date and speed are in the [model zoo](../zoo.md).")


GENERATORS = {
    "config-reference": config_reference, "family-settings": family_settings, "families": families_table,
    "cli-reference": cli_reference, "zoo-table": zoo_table, "zoo-rows": zoo_rows,
}


def on_page_markdown(markdown: str, page=None, config=None, files=None) -> str:
    def replace(match: re.Match) -> str:
        generator = GENERATORS[match.group(1)]
        return generator(match.group(2)) if match.group(2) else generator()

    return MARKER.sub(replace, markdown)
