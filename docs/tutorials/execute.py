"""Run the tutorials as notebooks, top to bottom, and keep what they printed and drew.

    python docs/tutorials/execute.py                   # every tutorial at full budget: writes
                                                       # docs/tutorials/NAME.ipynb (the docs render it)
                                                       # and its minutes into index.md
    python docs/tutorials/execute.py --budget 0.02 --out /tmp/quick 01_the_game
    python docs/tutorials/execute.py --text-only       # a prose edit: copy the text, keep the outputs

Each tutorial is a jupytext "percent" script (``NAME.py``: readable diffs, runnable as plain
Python too). This reads it, runs it in a fresh Jupyter kernel with ``TUTORIAL_BUDGET`` set
(the share of its full training steps; the test suite uses a small one), in a working folder
of its own (``--work``, where its runs and exports go), and writes the executed notebook with
its outputs. A cell that raises stops the tutorial and the command exits 1, naming it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def tutorial_sources() -> list[Path]:
    """The tutorials in reading order (their names start with their number)."""
    return sorted(path for path in HERE.glob("[0-9][0-9]_*.py"))


def execute(source: Path, budget: float, work: Path, timeout: int = 1200):
    """The executed notebook of ``source`` (an ``nbformat`` node); raises
    ``nbclient.exceptions.CellExecutionError`` naming the cell that failed."""
    import jupytext
    import nbclient

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    work.mkdir(parents=True, exist_ok=True)
    # The kernel imports the package from this checkout, wherever it runs.
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "TUTORIAL_BUDGET": repr(budget), "PYTHONPATH": path}
    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    client.execute(env=environment)
    return notebook


def without_chatter(notebook):
    """``notebook`` without TensorFlow's start-up and runtime log lines in its outputs (the
    lines ``tfgan_app.quiet`` drops from the commands' output, and SavedModel's asset notes)."""
    from tfgan_app.quiet import CHATTER

    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines = output["text"].splitlines(keepends=True)
                output["text"] = "".join(line for line in lines if not (
                    CHATTER.match(line.encode()) or line.startswith("INFO:tensorflow:Assets written")))
                if not output["text"]:
                    continue
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept
    return notebook


def refresh_text(source: Path, rendered: Path) -> None:
    """Give the executed notebook ``rendered`` the prose of ``source`` without running it again:
    allowed only when their code cells are the same (the outputs still belong to the code)."""
    import jupytext
    import nbformat

    notebook, fresh = nbformat.read(rendered, as_version=4), jupytext.read(source)
    code = [[cell.source for cell in book.cells if cell.cell_type == "code"] for book in (notebook, fresh)]
    if code[0] != code[1]:
        raise ValueError(f"{rendered.name}: its code differs from {source.name}; run the tutorial again")
    outputs = iter([cell for cell in notebook.cells if cell.cell_type == "code"])
    cells = []
    for cell in fresh.cells:
        cells.append(next(outputs) if cell.cell_type == "code" else cell)
    notebook.cells = cells
    nbformat.write(notebook, rendered)


def minutes_text(seconds: float) -> str:
    """How the index shows a run's time."""
    return f"{seconds / 60:.1f}"


def record_minutes(stem: str, seconds: float, index: Path = HERE / "index.md") -> None:
    """Put a full run's minutes into the last column of the tutorial's row of the index."""
    lines = index.read_text().split("\n")
    for number, line in enumerate(lines):
        if line.startswith("| [") and f"({stem}.ipynb)" in line:
            lines[number] = line[: line.rstrip(" |").rfind("|") + 1] + f" {minutes_text(seconds)} |"
    index.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="tutorials to run (default: all), e.g. 01_the_game")
    parser.add_argument("--budget", type=float, default=1.0, help="share of the full training steps (default 1)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the executed .ipynb files go (default: beside the sources)")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "tutorials", help="the tutorials' working folder")
    parser.add_argument("--text-only", action="store_true",
                        help="only copy the sources' prose into the executed notebooks (their code must be unchanged)")
    args = parser.parse_args(argv)
    import nbformat
    from nbclient.exceptions import CellExecutionError

    sources = tutorial_sources()
    if args.names:
        known = {path.stem: path for path in sources}
        unknown = [name for name in args.names if name not in known]
        if unknown:
            print(f"error: no tutorial {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
            return 2
        sources = [known[name] for name in args.names]
    args.out.mkdir(parents=True, exist_ok=True)
    if args.text_only:
        for source in sources:
            try:
                refresh_text(source, args.out / f"{source.stem}.ipynb")
            except (OSError, ValueError) as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
        return 0
    for source in sources:
        start = time.monotonic()
        try:
            notebook = execute(source, args.budget, args.work / source.stem)
        except CellExecutionError as error:
            print(f"{source.name}: a cell failed:\n{error}", file=sys.stderr)
            return 1
        seconds = round(time.monotonic() - start)
        # What the docs show was run at this budget, for this long: the tests check the budget.
        notebook.metadata["tfgan_app"] = {"budget": args.budget, "seconds": seconds}
        nbformat.write(without_chatter(notebook), args.out / f"{source.stem}.ipynb")
        if args.out.resolve() == HERE and args.budget == 1.0:  # what the docs show: the index gives its time
            record_minutes(source.stem, seconds)
        print(f"{source.stem}: {seconds:.0f} s at budget {args.budget:g}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
