"""The "Real data in" pages: the penguins preprocessing and the JPEG-folder Dataset.

The penguins page runs in-process (it is quick and needs no data files). The Dataset
page reads all of CIFAR-10 and times its loaders, so its tests take only the page's
imports and the definitions they need, and run them on a tiny folder of JPEG files.
"""

from __future__ import annotations

import ast
import types

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from pages import GALLERY, run_page

PENGUINS = GALLERY / "data" / "plot_pandas_penguins.py"
LOADER = GALLERY / "data" / "plot_dataset_dataloader.py"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")  # fmt: skip


# The penguins page ------------------------------------------------------------------


@pytest.fixture(scope="module")
def penguins():
    # The page as written: early stopping ends its training, and it is quick.
    return run_page(PENGUINS)


def test_statistics_come_from_the_training_rows_only(penguins):
    preprocessor, train = penguins["preprocessor"], penguins["train_rows"]
    numeric = penguins["NUMERIC"]
    pd.testing.assert_series_equal(preprocessor.mean, train[numeric].mean())
    pd.testing.assert_series_equal(preprocessor.std, train[numeric].std())
    for column in penguins["CATEGORICAL"]:
        assert preprocessor.categories[column] == sorted(train[column].dropna().unique())
    # The split is disjoint, and statistics over all rows differ from the training ones,
    # so a preprocessor fitted on more than the training rows would fail the test above.
    parts = [set(part.tolist()) for part in penguins["parts"]]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    everything = penguins["penguins"][numeric].mean()
    assert not np.allclose(preprocessor.mean, everything)


def test_transform_uses_no_statistic_of_the_rows_it_encodes(penguins):
    # Each encoded row must depend on its own input row alone: encoding validation rows
    # one at a time, or next to absurd neighbours, gives the same numbers.
    preprocessor, val = penguins["preprocessor"], penguins["val_rows"]
    together = preprocessor.transform(val)
    alone = torch.cat([preprocessor.transform(val.iloc[[i]]) for i in range(len(val))])
    torch.testing.assert_close(alone, together, rtol=0, atol=0)
    poisoned = val.copy()
    poisoned.iloc[1:, poisoned.columns.get_loc("body_mass_g")] *= 1000
    torch.testing.assert_close(preprocessor.transform(poisoned)[:1], together[:1])


def test_encoded_column_order_is_stable(penguins):
    preprocessor, val = penguins["preprocessor"], penguins["val_rows"]
    assert preprocessor.columns == [
        "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
        "island_Biscoe", "island_Dream", "island_Torgersen", "sex_female", "sex_male",
    ]  # fmt: skip
    expected = preprocessor.transform(val)
    reordered = val[list(reversed(val.columns))]
    torch.testing.assert_close(preprocessor.transform(reordered), expected)
    # A subset with one island only keeps every column, in place.
    in_dream = (val["island"] == "Dream").to_numpy(copy=True)
    dream = torch.from_numpy(in_dream)
    assert dream.any() and not dream.all()
    torch.testing.assert_close(preprocessor.transform(val[in_dream]), expected[dream])
    island = preprocessor.columns.index("island_Dream")
    assert (expected[dream, island] == 1).all() and (expected[~dream, island] == 0).all()
    # Fitting on the same rows in another order gives the same columns.
    shuffled = penguins["train_rows"].sample(frac=1, random_state=1)
    assert penguins["Preprocessor"].fit(shuffled).columns == preprocessor.columns


def test_unseen_and_missing_values_are_handled_as_documented(penguins):
    preprocessor, val = penguins["preprocessor"], penguins["val_rows"]
    rows = val.head(3)
    with pytest.raises(ValueError, match=r"island \['Anvers'\] never seen in training"):
        preprocessor.transform(rows.assign(island="Anvers"))
    with pytest.raises(KeyError, match=r"missing columns \['body_mass_g'\]"):
        preprocessor.transform(rows.drop(columns="body_mass_g"))
    with pytest.raises(ValueError, match="lack measurements"):
        preprocessor.transform(rows.assign(bill_depth_mm=np.nan))
    # A missing category value is "unknown": zeros in that category's columns only.
    unknown = preprocessor.transform(rows.assign(sex=None))
    known = preprocessor.transform(rows)
    sex = [preprocessor.columns.index(name) for name in ("sex_female", "sex_male")]
    assert (unknown[:, sex] == 0).all()
    assert (known[:, sex].sum(dim=1) == 1).all()
    others = [j for j in range(len(preprocessor.columns)) if j not in sex]
    torch.testing.assert_close(unknown[:, others], known[:, others])
    with pytest.raises(ValueError, match="unknown or missing species"):
        penguins["encode_species"](rows.assign(species="Emperor"), penguins["species_names"])


def test_tensors_have_the_dtypes_the_model_needs(penguins):
    assert penguins["x_train"].dtype == torch.float32
    assert penguins["y_train"].dtype == torch.int64
    assert penguins["x_train"].shape == (len(penguins["train_rows"]), 9)
    assert not torch.isnan(penguins["x_test"]).any()


def test_candidates_stop_patience_epochs_after_their_best_and_are_restored(penguins):
    x_val, y_val = penguins["x_val"], penguins["y_val"]
    for name, model in penguins["models"].items():
        curve, best = penguins["val_curves"][name], penguins["best_epoch"][name]
        assert len(curve) == best + penguins["PATIENCE"]
        assert curve[best - 1] == min(curve) < min(curve[best:])
        with torch.no_grad():
            losses = torch.nn.functional.cross_entropy(model(x_val), y_val, reduction="none")
        assert losses.mean().item() == pytest.approx(curve[best - 1], rel=1e-6)
        torch.testing.assert_close(penguins["val_losses"][name], losses)


# The Dataset page ---------------------------------------------------------------------


def page_definitions(script, names):
    """Execute a page's imports and the named top-level definitions only."""
    tree = ast.parse(script.read_text(), filename=str(script))
    kept = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        or (isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in names)
    ]
    found = {node.name for node in kept if not isinstance(node, ast.Import | ast.ImportFrom)}
    if found != set(names):
        raise KeyError(f"{script.name} defines no {sorted(set(names) - found)}")
    namespace = {"__name__": "page_definitions"}
    exec(compile(ast.Module(kept, type_ignores=[]), str(script), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def loader_page():
    return page_definitions(LOADER, ["JpegFolder", "jpeg_folder", "measure"])


def write_folder(root, per_class=2):
    """A tiny CIFAR-10 layout of random 32x32 JPEG files, plus a file to ignore."""
    generator = np.random.default_rng(0)
    for name in CLASSES:
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            pixels = generator.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{k:04d}.jpg")
        (root / name / "notes.txt").write_text("not an image")


def test_dataset_length_item_shape_and_dtype(loader_page, tmp_path):
    write_folder(tmp_path, per_class=3)
    dataset = loader_page["JpegFolder"](tmp_path, CLASSES)
    assert len(dataset) == 3 * len(CLASSES)
    image, label = dataset[4]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8
    assert label == 1  # files are listed class by class, in the classes' order
    with Image.open(tmp_path / "automobile" / "0001.jpg") as file:
        reference = torch.from_numpy(np.array(file.convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(image, reference)
    scaled = loader_page["JpegFolder"](tmp_path, CLASSES, transform=lambda x: x.float() / 255)
    assert scaled[4][0].dtype == torch.float32


def test_dataset_rejects_a_bad_path_clearly(loader_page, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no folder for classes \['airplane'"):
        loader_page["JpegFolder"](tmp_path / "nowhere", CLASSES)
    write_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no folder for classes \['zebra'\]"):
        loader_page["JpegFolder"](tmp_path, (*CLASSES, "zebra"))


def test_jpeg_files_are_written_from_the_tensors_when_only_those_exist(loader_page, tmp_path):
    # Without the JPEG folders, the page writes them once from the decoded tensors.
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(12) % len(CLASSES)
    split = types.SimpleNamespace(images=images, labels=labels)
    loader_page["cache"] = types.SimpleNamespace(train=split)
    loader_page["data_dir"] = lambda: tmp_path / "data"
    loader_page["cache_dir"] = lambda: tmp_path / "cache"
    root = loader_page["jpeg_folder"]()
    assert root == tmp_path / "cache" / "cifar10-jpeg" / "train"
    dataset = loader_page["JpegFolder"](root, CLASSES)
    assert len(dataset) == 12
    assert sorted(label for _, label in dataset.files) == sorted(labels.tolist())
    assert not (root.parent / "train.partial").exists()
    assert loader_page["jpeg_folder"]() == root  # the second call finds the files


def test_timing_leaves_out_the_warm_up_and_times_the_training_step(loader_page, monkeypatch):
    # A fake clock: the first two batches take 25 s each (workers starting), then a
    # batch takes 2 s to arrive and a training step 3 s. Only the steady state counts.
    clock = types.SimpleNamespace(now=0.0)
    served = []

    def source():
        while True:
            clock.now += 25.0 if len(served) < 2 else 2.0
            served.append(len(served))
            yield torch.zeros(1), torch.zeros(1)

    def train_step(images, labels):
        clock.now += 3.0

    settings = {"N_WARMUP_BATCHES": 2, "N_REPEATS": 3, "BATCHES_PER_REPEAT": 4, "BATCH_SIZE": 8}
    for name, value in settings.items():
        monkeypatch.setitem(loader_page, name, value)
    monkeypatch.setitem(loader_page, "train_step", train_step)
    monkeypatch.setitem(loader_page, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    alone, training = loader_page["measure"](source)
    assert alone == pytest.approx([4 * 8 / (4 * 2.0)] * 3)
    assert training == pytest.approx([4 * 8 / (4 * 5.0)] * 3)
    assert len(served) == 2 + 2 * 3 * 4
