"""The ``web`` export format: a static page that runs the ONNX generator in the browser with
onnxruntime-web (WebAssembly, one thread), written as ``<version>/web/``:

- ``index.html``, ``app.js``, ``style.css``: the project's page (``export/page/``);
- ``model.onnx`` and ``model.json`` (what the page needs of the manifest: the inputs and
  their kinds, the output, the class names);
- ``ort.wasm.min.js``, ``ort-wasm-simd-threaded.mjs`` / ``.wasm`` and a notice of the
  runtime's licence (MIT), from the npm package ``onnxruntime-web`` (fetched once into the data cache with
  the npm client, checked by the registry's SHA-1).

The folder makes no network request: any static file server shows it
(``tfgan serve --web saved_models/NAME``).
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from tfgan_app.data.emoji import default_root
from tfgan_app.data.npm import npm_pack, replace_with, staging_folder

PACKAGE, VERSION, SHA1 = "onnxruntime-web", "1.30.0", "b88b09117992e6f486321e931a826fd2f7775377"
RUNTIME_FILES = ("dist/ort.wasm.min.js", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm")
PAGE_DIR = Path(__file__).with_name("page")
PAGE_FILES = ("index.html", "app.js", "style.css")
WEB_DIR = "web"
COMPLETE = ".complete"
NOTICE = "ONNXRUNTIME-NOTICE.txt"  # the runtime's licence, as its package.json states it
# The manifest's keys the page reads.
PAGE_KEYS = ("name", "version", "inputs", "output", "output_shape", "sample_rate", "vocabulary", "class_names",
             "family", "step")


def runtime_folder(root: Path | None = None) -> Path:
    return Path(root or default_root()) / PACKAGE / VERSION


def fetch_runtime(root: Path | None = None, npm: str = "npm") -> Path:
    """The runtime's files in the data cache, fetched once (idempotent; NpmError when the npm
    client or the registry is not reachable)."""
    folder = runtime_folder(root)
    marker = folder / COMPLETE
    if marker.is_file() and marker.read_text().strip() == SHA1:
        return folder
    with tempfile.TemporaryDirectory() as scratch:
        archive = npm_pack(f"{PACKAGE}@{VERSION}", Path(scratch), SHA1, "the browser runtime of the web export", npm)
        staging = staging_folder(folder)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for name in RUNTIME_FILES:
                    with tar.extractfile(f"package/{name}") as source:
                        (staging / Path(name).name).write_bytes(source.read())
                with tar.extractfile("package/package.json") as source:
                    package = json.loads(source.read())
            (staging / NOTICE).write_text(
                f"{PACKAGE} {VERSION} (npm), the files ort.wasm.min.js and ort-wasm-simd-threaded.*: "
                f"{package.get('license', 'see the package')} licence, {package.get('homepage', '')}\n"
            )
            (staging / COMPLETE).write_text(SHA1 + "\n")
            replace_with(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return folder


def write_web(version_dir: Path, onnx_file: Path, manifest: dict, root: Path | None = None) -> list[str]:
    """Write the page into ``version_dir/web`` for the ONNX model ``onnx_file``; the files written."""
    runtime = fetch_runtime(root)
    web = Path(version_dir) / WEB_DIR
    web.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        shutil.copyfile(PAGE_DIR / name, web / name)
    for name in [*(Path(file).name for file in RUNTIME_FILES), NOTICE]:
        shutil.copyfile(runtime / name, web / name)
    shutil.copyfile(onnx_file, web / "model.onnx")
    page_manifest = {key: manifest[key] for key in PAGE_KEYS if key in manifest}
    (web / "model.json").write_text(json.dumps(page_manifest, indent=2) + "\n")
    return sorted(path.name for path in web.iterdir())
