"""Users' own folders and the emoji data: ``inspect`` and ``prepare`` on a folder the test
writes with every awkward kind of file, and the emoji fetch and sources on a fake npm
package the test makes (the real fetch is for pipelines and benchmarks)."""

import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import tiny_config
from tfgan_app.data import emoji, load_source
from tfgan_app.gans.registry import family_source
from tfgan_app.data import __main__ as data_cli
from tfgan_app.data.folder import ImageFolderError
from tfgan_app.data.tool import PrepareSettings, inspect_folder, load_prepared, prepare_folder
from tfgan_app.training.trainer import train

QUIET = open(os.devnull, "w")


def awkward_folder(root: Path) -> Path:
    """Two classes of every kind of file users bring."""
    cats, dogs = root / "cats", root / "dogs"
    cats.mkdir(parents=True)
    dogs.mkdir()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 1] = 180
    rgba[:4, :, 3] = 255  # top half opaque green, bottom transparent
    Image.fromarray(rgba, "RGBA").save(cats / "rgba.png")
    palette = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8), "P")
    palette.putpalette([value for index in range(256) for value in (index, 0, 255 - index)])
    palette.save(cats / "palette.png")
    Image.fromarray(np.full((8, 8), 90, np.uint8), "L").save(cats / "gray.png")
    Image.fromarray((np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)).save(dogs / "deep.png")
    wide = np.zeros((8, 16, 3), np.uint8)
    wide[:, :4] = 255  # a white band on the left that crop cuts off and pad keeps
    Image.fromarray(wide).save(dogs / "wide.png")
    (dogs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (dogs / "copy_of_gray.png").write_bytes((cats / "gray.png").read_bytes())
    (root / "notes.txt").write_text("not an image")
    return root


def digests(folder: Path) -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_inspect_reports_modes_sizes_unreadable_duplicates_and_labels(tmp_path):
    folder = awkward_folder(tmp_path / "photos")
    before = digests(folder)
    report = inspect_folder(folder)
    assert report["images"] == 7 and report["readable"] == 6
    assert report["modes"] == {"RGBA": 1, "P": 1, "L": 2, "16-bit": 1, "RGB": 1}
    assert report["sizes"] == {"8x8": 5, "16x8": 1} and report["aspect"] == {"square": 5, "wider": 1}
    assert [entry.split(":")[0] for entry in report["unreadable"]] == ["dogs/broken.png"]
    assert report["duplicates"] == [["cats/gray.png", "dogs/copy_of_gray.png"]]
    assert report["labels"] == {"cats": 3, "dogs": 3} and report["other_files"] == ["notes.txt"]
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\ncats/rgba.png,a\ncats/palette.png,b\n")
    report = inspect_folder(folder, labels)
    assert report["labels"] == {"a": 1, "b": 1, "": 4} and len(report["label_problems"]) == 4
    assert digests(folder) == before  # inspect changes nothing
    assert data_cli.main(["inspect", str(folder)]) == 0


@pytest.mark.parametrize("square", ["crop", "pad"])
def test_prepare_converts_every_kind_once_and_names_what_it_skipped(tmp_path, square):
    folder = awkward_folder(tmp_path / "photos")
    before = digests(folder)
    settings = PrepareSettings(image_size=8, channels=3, square=square, resize_filter="box")
    manifest = prepare_folder(folder, tmp_path / "prepared", settings)
    assert digests(folder) == before  # nothing in the user's folder is modified
    assert manifest["count"] == 5 and manifest["shape"] == [8, 8, 3] and manifest["class_names"] == ["cats", "dogs"]
    skipped = {entry["file"]: entry["reason"] for entry in manifest["skipped"]}
    assert set(skipped) == {"dogs/broken.png", "dogs/copy_of_gray.png"}
    assert "duplicate of cats/gray.png" in skipped["dogs/copy_of_gray.png"]
    images, labels, classes, _ = load_prepared(tmp_path / "prepared")
    by_file = dict(zip(manifest["files"], images))
    rgba = by_file["cats/rgba.png"]
    assert (rgba[1, 4] == [0, 180, 0]).all() and (rgba[6, 4] == 255).all()  # transparency on white
    deep = by_file["dogs/deep.png"][..., 0]
    assert deep.max() == round(63000 * 255 / 65535) and deep.min() == 0  # scaled to 8 bits, not clipped at 255
    wide = by_file["dogs/wide.png"]
    # crop keeps the middle 8 columns (no white band); pad keeps the band and adds white rows
    if square == "crop":
        assert wide.max() == 0
    else:
        assert (wide[4, 0] == 255).all() and (wide[0, 5] == 255).all() and (wide[4, 5] == 0).all()
    assert list(labels) == [classes.index(name.split("/")[0]) for name in manifest["files"]]
    with pytest.raises(ImageFolderError, match="is not empty"):
        prepare_folder(folder, tmp_path / "prepared", PrepareSettings(image_size=8))
    (tmp_path / "prepared" / "images.npy").write_bytes(b"changed")
    with pytest.raises(ImageFolderError, match="does not match its manifest"):
        load_prepared(tmp_path / "prepared")


def test_prepared_data_trains(tmp_path):
    folder = awkward_folder(tmp_path / "photos")
    prepare_folder(folder, tmp_path / "prepared", PrepareSettings(image_size=16, channels=3))
    config = tiny_config(data={"name": "prepared", "folder": str(tmp_path / "prepared")},
                         train={"batch_size": 4, "steps": 2, "checkpoint_every": 2}, export={"enabled": False})
    result = train(config, tmp_path / "run", progress_stream=QUIET)
    assert result.status == "completed"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["element_shape"] == [16, 16, 3]


# --- the emoji data -----------------------------------------------------------------------

CODES = [f"1f{index:03x}" for index in range(20)]
CATEGORIES = ["Animals & Nature", "Food & Drink"]


def fake_package(vendor: str, folder: Path) -> Path:
    """A tarball laid out like emoji-datasource-<vendor>: 20 emoji, 2 categories."""
    archive = folder / f"emoji-datasource-{vendor}-16.0.0.tgz"
    entries = [{"name": f"EMOJI {code}", "short_names": [code], "image": f"{code}.png",
                "category": CATEGORIES[index % 2], "subcategory": "x"} for index, code in enumerate(CODES)]
    with tarfile.open(archive, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("emoji.json", json.dumps(entries).encode())
        add("LICENSE", b"MIT")
        for index, code in enumerate(CODES):
            pixels = np.zeros((64, 64, 4), np.uint8)
            pixels[..., 0 if vendor == "google" else 2] = 10 * index
            pixels[16:48, 16:48, 3] = 255
            buffer = io.BytesIO()
            Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
            add(f"img/{vendor}/64/{code}.png", buffer.getvalue())
    return archive


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """An ``npm`` on PATH whose ``pack`` copies the fake tarballs; the pinned SHA-1s are
    those of the fakes. Its calls are counted in calls.txt."""
    store = tmp_path / "registry"
    store.mkdir()
    for vendor in ("google", "twitter"):
        archive = fake_package(vendor, store)
        package = emoji.PACKAGES[vendor]
        sha1 = hashlib.sha1(archive.read_bytes()).hexdigest()
        monkeypatch.setitem(emoji.PACKAGES, vendor, emoji.EmojiPackage(vendor, package.package, package.version, sha1, "test"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "npm"
    script.write_text(
        "#!/bin/sh\n"
        f"echo \"$2\" >> {tmp_path / 'calls.txt'}\n"
        "name=$(echo \"$2\" | sed 's/@/-/')\n"
        f"cp {store}/$name.tgz \"$4\"/\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("TFGAN_APP_DATA", str(tmp_path / "data"))
    return tmp_path


def test_emoji_fetch_unpacks_checks_and_is_idempotent(fake_npm):
    assert data_cli.main(["fetch", "emoji"]) == 0
    folder = fake_npm / "data" / "emoji" / "google"
    assert len(list((folder / "64").glob("*.png"))) == 20 and (folder / "emoji.json").is_file()
    assert (folder / "LICENCES.txt").read_text().startswith("Images: test.")  # the pinned package's licence
    assert data_cli.main(["fetch", "emoji"]) == 0
    assert len((fake_npm / "calls.txt").read_text().split()) == 2  # the second fetch fetched nothing


def test_emoji_fetch_refuses_an_archive_with_another_checksum(fake_npm, monkeypatch):
    package = emoji.PACKAGES["google"]
    monkeypatch.setitem(emoji.PACKAGES, "google", emoji.EmojiPackage("google", package.package, package.version, "0" * 40, ""))
    with pytest.raises(emoji.EmojiDataError, match="is not the pinned 0000"):
        emoji.fetch(vendors=("google",))
    assert not (fake_npm / "data" / "emoji" / "google").exists()


def test_emoji_fetch_without_npm_says_how_to_install_it(tmp_path):
    with pytest.raises(emoji.EmojiDataError, match="apt-get install npm"):
        emoji.fetch(tmp_path, npm="no-such-npm-client")


def test_emoji_sources_split_label_pair_and_unpair(fake_npm):
    emoji.fetch()
    train_config = tiny_config(data={"name": "emoji"}, model={"family": "cgan"})
    source = family_source(train_config)
    assert source.images.shape == (18, 64, 64, 3) and source.class_names == CATEGORIES
    test_config = tiny_config(data={"name": "emoji", "split": "test"})
    test = load_source(test_config.data)
    assert len(test.images) == 2  # every 10th of the 20 sorted names: indices 0 and 10
    assert (test.images[0, 0, 0] == 255).all()  # transparent corner on white
    pairs = family_source(tiny_config(data={"name": "emoji", "split": "test"}, model={"family": "pix2pix"},
                                    pix2pix={"pairs": "styles"}))
    google, twitter = pairs.conditions[1, 32, 32], pairs.images[1, 32, 32]
    assert google[0] == twitter[2] == 100  # the same emoji (index 10) in its two styles
    domains = family_source(tiny_config(data={"name": "emoji"}, model={"family": "cyclegan"}))
    assert domains.images.shape == domains.images_b.shape == (18, 64, 64, 3)
    missing = tiny_config(data={"name": "emoji", "cache_dir": str(fake_npm / "nowhere")})
    with pytest.raises(emoji.EmojiDataError, match="fetch them with"):
        load_source(missing.data)


@pytest.mark.parametrize(
    "pipeline", ["emoji_dcgan", "emoji_cgan", "emoji_pix2pix", "emoji_cyclegan", "emoji_text2image", "emoji_r3gan"],
)
def test_every_emoji_pipeline_trains_resumes_exports_and_generates(fake_npm, pipeline, capsys):
    """The shipped emoji pipelines end to end through the CLIs, on the fake emoji: train,
    resume, export, generate (a category by name for the conditional one, a folder of
    Google emoji translated for the translators)."""
    from tfgan_app import generate as generate_cli
    from tfgan_app import train as train_cli
    from tfgan_app.export import __main__ as export_cli

    assert data_cli.main(["fetch", "emoji"]) == 0
    run, models = fake_npm / "run", fake_npm / "models"
    small = ["--set", "model.generator_width=8", "--set", "model.discriminator_width=8", "--set", "train.batch_size=4",
             "--set", "train.checkpoint_every=2", "--set", "sampling.every=2", "--set", "export.enabled=false"]
    assert train_cli.main(["--pipeline", pipeline, "--out", str(run), "--steps", "2", *small]) == 0
    assert train_cli.main(["--pipeline", pipeline, "--out", str(run), "--resume", "--steps", "4", *small]) == 0
    assert json.loads((run / "run.json").read_text())["step"] == 4
    assert export_cli.main(["--run", str(run), "--out", str(models), "--formats", "savedmodel"]) == 0
    exported = sorted(path.name for path in models.iterdir())
    if pipeline in ("emoji_pix2pix", "emoji_cyclegan"):
        assert exported == ([f"{pipeline}_a2b", f"{pipeline}_b2a"] if pipeline == "emoji_cyclegan" else [pipeline])
        inputs = fake_npm / "data" / "emoji" / "google" / "64"
        out = fake_npm / "translated"
        assert generate_cli.main(["--model", str(models / exported[0]), "--input", str(inputs), "--out", str(out)]) == 0
        assert len(list(out.glob("*.png"))) == len(CODES) + 1  # one per emoji and the grid
    elif pipeline == "emoji_text2image":
        assert exported == [pipeline]
        manifest = json.loads((models / pipeline / "1" / "export.json").read_text())
        assert [(entry["name"], entry["dtype"]) for entry in manifest["inputs"]] == [("z", "float32"), ("text", "string")]
        assert generate_cli.main(["--model", str(models / pipeline), "--num", "4", "--text", "emoji 1f003",
                                  "--out", str(fake_npm / "grid.png")]) == 0
        assert Image.open(fake_npm / "grid.png").mode == "RGB"
        assert generate_cli.main(["--model", str(models / pipeline), "--out", str(fake_npm / "x.png")]) == 2
        assert "pass --text" in capsys.readouterr().err
        assert export_cli.main(["--run", str(run), "--out", str(models), "--formats", "onnx"]) != 0
        assert "ONNX has no operators" in capsys.readouterr().err
    else:
        assert exported == [pipeline]
        label = ["--label", "food & drink"] if pipeline == "emoji_cgan" else []
        assert generate_cli.main(["--model", str(models / pipeline), "--num", "4", *label,
                                  "--out", str(fake_npm / "grid.png")]) == 0
        assert Image.open(fake_npm / "grid.png").mode == "RGB"
    if pipeline == "emoji_cgan":
        assert generate_cli.main(["--model", str(models / pipeline), "--label", "Smileys", "--out", str(fake_npm / "x.png")]) == 2
        assert "'Smileys' is not a class" in capsys.readouterr().err


def test_text2image_draws_what_the_name_says(fake_npm):
    """The fake emoji's red level grows with the code in their names ("emoji 1f003" is
    3 x 10): after training, images generated from the training names follow it (the text
    reaches G through the encoder and conditioning augmentation)."""
    import keras
    import tensorflow as tf

    from tfgan_app.data import load_source, make_train_dataset
    from tfgan_app.gans.registry import family_source
    from tfgan_app.gans import build_model

    assert data_cli.main(["fetch", "emoji"]) == 0
    config = tiny_config(
        data={"name": "emoji"}, model={"family": "text2image", "generator_width": 8, "discriminator_width": 8},
        text2image={"embedding_dim": 16, "condition_dim": 8},
        optimizer={"generator": {"learning_rate": 2e-3}, "discriminator": {"learning_rate": 2e-3}},
        train={"batch_size": 16},
    )
    source = family_source(config)
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape, source.num_classes, class_names=source.class_names)
    texts = model.texts
    codes = np.array([int(text.split()[-1], 16) - 0x1F000 for text in texts])
    z = tf.random.normal([len(texts), config.model.latent_dim], seed=1)

    def red_follows_code():
        images = model.generate_from_text(z, texts).numpy()
        return float(np.corrcoef(codes, images[:, 16:48, 16:48, 0].mean(axis=(1, 2)))[0, 1])

    before = red_follows_code()
    dataset = make_train_dataset(source, 16, 1, model.noise_dim, 0, batch_type=model.batch_type)
    history = model.fit(dataset, steps_per_epoch=300, epochs=1, verbose=0, shuffle=False).history
    after = red_follows_code()
    assert set(history) == {"d_loss", "g_loss", "kl", "d_real", "d_fake", "d_wrong"}
    assert after > 0.7 and after > before + 0.3, (before, after)
