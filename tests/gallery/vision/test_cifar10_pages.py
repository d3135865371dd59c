"""The CIFAR-10 pages: augmentation, layers, precision choice and network, and a tiny run.

The data page and the layers page run as written (they train nothing). The CNN page
runs with a few hundred images, a narrow network and two short epochs; its ``check``
calls are recorded instead of enforced, since a tiny run proves nothing about the full
run's claims.
"""

from __future__ import annotations

import ast
import math

import pytest
import torch

import pytorch_examples.claims
from pages import GALLERY, run_page

DATA_PAGE = GALLERY / "vision" / "plot_cifar10_data.py"
CNN_PAGE = GALLERY / "vision" / "plot_cifar10_cnn.py"
LAYERS_PAGE = GALLERY / "vision" / "plot_convolution_layers.py"
TINY = {
    "SUBSET": 512,
    "N_VALIDATION": 256,
    "WIDTHS": (4, 8, 16),
    "N_EPOCHS": 2,
    "BATCH_SIZE": 64,
    "N_TIMING_STEPS": 2,
}


@pytest.fixture(scope="module")
def data_page():
    return run_page(DATA_PAGE)


@pytest.fixture(scope="module")
def cnn_page():
    claims = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytorch_examples.claims, "check", lambda holds, claim: claims.append(claim))
        namespace = run_page(CNN_PAGE, **TINY)
    namespace["recorded_claims"] = claims
    return namespace


@pytest.fixture(scope="module")
def layers_page():
    return run_page(LAYERS_PAGE)


@pytest.fixture(params=["data", "cnn"])
def page(request, data_page, cnn_page):
    return data_page if request.param == "data" else cnn_page


def recover_crop_and_flip(
    originals: torch.Tensor, augmented: torch.Tensor, padding: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Find the shift (dy, dx) and the flip that turn each original into its augmented copy.

    Every candidate window of the zero-padded original is compared with the augmented
    image and with its mirror image; exactly one candidate must match.
    """
    height, width = originals.shape[-2:]
    padded = torch.nn.functional.pad(originals, (padding,) * 4)
    matches = []  # (dy, dx, flipped, matched) for each candidate
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            window = padded[:, :, dy : dy + height, dx : dx + width]
            for flipped in (False, True):
                target = augmented.flip(3) if flipped else augmented
                matches.append((dy, dx, flipped, (window == target).flatten(1).all(dim=1)))
    hits = torch.stack([matched for *_, matched in matches], dim=1)
    assert (hits.sum(dim=1) == 1).all(), "each augmented image is exactly one crop and flip"
    which = hits.int().argmax(dim=1).tolist()
    dy, dx, flipped = (torch.tensor([matches[k][i] for k in which]) for i in range(3))
    return dy, dx, flipped


def test_augment_keeps_the_shape_and_dtype(page):
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    out = page["augment"](images)
    assert out.shape == images.shape and out.dtype == torch.uint8


def test_augment_flips_half_and_shifts_uniformly(page):
    """On distinct random images, count how often each shift and the flip occur."""
    padding, n = page["CROP_PADDING"], 4000
    torch.manual_seed(1)
    images = torch.randint(1, 256, (n, 3, 8, 8), dtype=torch.uint8)  # no 0: padding shows
    dy, dx, flipped = recover_crop_and_flip(images, page["augment"](images), padding)
    # Binomial shares, within 4 standard deviations.
    assert abs(flipped.float().mean().item() - 0.5) < 4 * math.sqrt(0.25 / n)
    p = 1 / (2 * padding + 1)
    for shift in (dy, dx):
        shares = torch.bincount(shift, minlength=2 * padding + 1).float() / n
        assert (shares - p).abs().max().item() < 4 * math.sqrt(p * (1 - p) / n)
    unshifted = ((dy == padding) & (dx == padding)).float().mean().item()
    assert abs(unshifted - p**2) < 4 * math.sqrt(p**2 / n)


def test_the_split_keeps_validation_apart_from_training(page):
    train, val = set(page["train_index"].tolist()), set(page["val_index"].tolist())
    assert len(val) == page["N_VALIDATION"] and not train & val


def test_the_data_page_standardizes_with_training_statistics(data_page):
    batch = data_page["standardized"]
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert abs(batch.mean().item()) < 0.1 and abs(batch.std().item() - 1) < 0.1


def test_the_precision_choice_takes_bfloat16_only_when_it_is_faster_beyond_the_noise(cnn_page):
    choose = cnn_page["choose_precision"]
    steady, fast = [0.50, 0.52, 0.51], [0.20, 0.21, 0.22]  # seconds per step
    assert choose({"float32": fast, "bfloat16": steady}) == "float32"
    assert choose({"float32": steady, "bfloat16": steady}) == "float32"
    assert choose({"float32": steady, "bfloat16": fast}) == "bfloat16"
    # Faster on average, but within the spread of the timings: a tie, float32.
    assert choose({"float32": [0.2, 0.9, 0.5], "bfloat16": [0.1, 0.8, 0.4]}) == "float32"
    times = cnn_page["step_seconds"]
    assert all(len(t) == TINY["N_TIMING_STEPS"] for t in times.values())
    assert cnn_page["precision"] == choose(times)


def test_the_network_scores_ten_classes(cnn_page):
    model = cnn_page["SmallCNN"]((8, 16, 32))
    images = torch.randn(5, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    assert model(images).shape == (5, 10)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_the_tiny_run_trains_and_scores(cnn_page):
    runs = cnn_page["runs"]
    assert set(runs) == {"augmented", "plain"}
    for _, run, seconds in runs.values():
        assert all(len(values) == TINY["N_EPOCHS"] for values in run.values())
        assert all(math.isfinite(value) for values in run.values() for value in values)
        assert run["train_loss"][-1] < run["train_loss"][0] and seconds > 0
    # The kept network is the one ahead by more than the noise, else the tie rule's.
    scores, labels = cnn_page["scores"], cnn_page["val_labels"]
    right = {name: s["val"].predictions == labels for name, s in scores.items()}
    only_augmented = (right["augmented"] & ~right["plain"]).sum().item()
    only_plain = (right["plain"] & ~right["augmented"]).sum().item()
    difference = cnn_page["augmentation"]
    assert difference.difference == pytest.approx((only_augmented - only_plain) / len(labels))
    if difference.within_noise():
        assert cnn_page["kept"] == cnn_page["TIE_KEEPS"]
    else:
        assert cnn_page["kept"] == ("augmented" if difference.difference > 0 else "plain")
    assert cnn_page["model"] is runs[cnn_page["kept"]][0]
    assert cnn_page["use_mirror"] == cnn_page["mirror_gain"].a_higher()
    assert len(cnn_page["train_labels"]) == TINY["SUBSET"]
    assert 0 <= cnn_page["test_accuracy"] <= 1 and cnn_page["training_seconds"] > 0
    assert len(cnn_page["predicted"]) == len(cnn_page["data"].test.labels)
    assert int(cnn_page["matrix"].sum()) == len(cnn_page["data"].test.labels)
    claims = cnn_page["recorded_claims"]
    assert any("without augmentation the gap" in c for c in claims)
    assert any("bfloat16 changes the validation accuracy" in c for c in claims)


def test_the_gap_scores_both_networks_on_the_same_clean_training_images(cnn_page):
    """Clean images in evaluation mode: rescoring gives the same accuracy (no augmentation,
    no batch statistics), and the images are training images, not validation ones."""
    page = cnn_page
    assert len(page["seen_labels"]) == min(TINY["N_VALIDATION"], TINY["SUBSET"])
    assert torch.equal(page["seen_images"], page["train_images"][: len(page["seen_labels"])])
    for name, (model, _, _) in page["runs"].items():
        again = page["score"](model, page["seen_images"], page["seen_labels"], page["precision"])
        assert again.accuracy == page["scores"][name]["train"].accuracy
        assert model.training  # scoring hands the model back in training mode
        gap = page["scores"][name]["train"].accuracy - page["scores"][name]["val"].accuracy
        assert page["gap"][name] == gap


def test_every_tied_most_common_confusion_is_named(cnn_page):
    off_diagonal = cnn_page["off_diagonal"]
    assert off_diagonal.diag().eq(0).all()
    assert len(cnn_page["confusions"]) == int((off_diagonal == off_diagonal.max()).sum())


def test_the_data_page_uses_the_cnn_pages_split_crop_and_batch():
    def constants(page):
        tree = ast.parse(page.read_text())
        return {
            node.targets[0].id: ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("SEED", "N_VALIDATION", "CROP_PADDING", "BATCH_SIZE")
        }

    assert constants(DATA_PAGE) == constants(CNN_PAGE)
    assert len(constants(DATA_PAGE)) == 4


def test_training_in_bfloat16_runs(cnn_page):
    """The build machine may choose float32; the bfloat16 path must still work."""
    namespace = cnn_page["train"].__globals__
    chosen = namespace["precision"]
    namespace["precision"] = "bfloat16"
    try:
        model, history, seconds = cnn_page["train"](augmented=True)
    finally:
        namespace["precision"] = chosen
    assert all(math.isfinite(value) for value in history["train_loss"]) and seconds > 0
    assert model.head.weight.dtype == torch.float32  # autocast leaves the weights float32


def test_the_cnn_page_scores_the_test_set_once():
    calls = [
        node
        for node in ast.walk(ast.parse(CNN_PAGE.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("evaluate", "score")
        and "data.test" in ast.unparse(node)
    ]
    assert len(calls) == 1


def receptive_field_by_formula(kinds: list[str]) -> int:
    """Each layer of window k widens the field by (k - 1) steps of the input it sees."""
    field, step = 1, 1
    for kind in kinds:
        window = 3 if kind == "conv" else 2
        field += (window - 1) * step
        step *= 1 if kind == "conv" else 2
    return field


@pytest.mark.parametrize(
    "kinds",
    [["conv"], ["conv", "conv", "conv"], ["pool", "conv"], ["conv", "pool", "pool", "conv"]],
)
def test_the_layers_page_measures_receptive_fields_as_the_formula_gives(layers_page, kinds):
    page = layers_page
    layers = torch.nn.Sequential(
        *(page["all_ones_conv"]() if kind == "conv" else torch.nn.AvgPool2d(2) for kind in kinds)
    )
    assert page["receptive_field"](layers) == receptive_field_by_formula(kinds)
    assert page["fields"] == [
        receptive_field_by_formula(list(page["LAYER_ORDER"][: n + 1]))
        for n in range(len(page["LAYER_ORDER"]))
    ]


def test_the_layers_page_follows_the_cnn_pages_layer_order(layers_page, cnn_page):
    kinds = [
        "conv" if isinstance(layer, torch.nn.Conv2d) else "pool"
        for layer in cnn_page["model"].features
        if isinstance(layer, torch.nn.Conv2d | torch.nn.MaxPool2d)
    ]
    assert tuple(kinds) == layers_page["LAYER_ORDER"]
