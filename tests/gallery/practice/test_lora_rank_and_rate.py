"""The LoRA training page: what it reads from the other pages, its training and choices.

It runs after the pretraining and fine-tuning pages' small runs (same session), on what
those runs saved.
"""

from __future__ import annotations

import ast
import copy
import itertools
import math

import pytest
import torch
from torch import nn

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.adapters import LoRAConv2d
from pytorch_examples.comparison import accuracy_difference
from pytorch_examples.results import MissingResultsError

PAGE = "practice/plot_lora_rank_and_rate.py"


@pytest.fixture(scope="module")
def pretraining(gallery_page):
    return gallery_page("practice/plot_pretraining.py")  # pretrains and saves


@pytest.fixture(scope="module")
def first(gallery_page, pretraining):
    return gallery_page("practice/plot_fine_tuning.py")  # compares the methods and saves


@pytest.fixture(scope="module")
def page(gallery_page, first):
    return gallery_page(PAGE)


def test_it_adapts_with_the_layer_pages_scale_and_chooses_among_its_ranks(gallery_page, page):
    layer_page = gallery_page("practice/plot_low_rank_adapters.py")
    assert page["LORA_ALPHA"] == layer_page["LORA_ALPHA"]
    assert page["LORA_RANKS"] == layer_page["LORA_RANKS"]
    adapters = [m for m in page["model"].modules() if isinstance(m, LoRAConv2d)]
    scale = page["LORA_ALPHA"] / math.sqrt(page["lora_rank"])
    assert adapters and all(m.scale == scale for m in adapters)


def test_run_alone_it_says_which_pages_to_run_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"Run plot_pretraining\.py, then plot_fine"):
        run_page(GALLERY / PAGE)


def test_it_adapts_the_network_and_pairs_the_images_the_other_pages_used(first, page):
    expected = first["pretrained"].state_dict()
    loaded = page["pretrained"].state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], value) for key, value in expected.items())
    for name in ("target_images", "target_labels", "val_images", "val_labels"):
        assert torch.equal(page[name], first[name]), name
    assert page["chosen"] == first["chosen"]
    for method, predictions in first["chosen_predictions"].items():
        assert torch.equal(page["val_predictions"][method], predictions)


def test_the_merged_network_holds_each_weight_plus_its_scaled_low_rank_change(page):
    merged = dict(page["merged"].named_modules())
    adapters = {name: m for name, m in page["model"].named_modules() if isinstance(m, LoRAConv2d)}
    assert adapters and not any(isinstance(m, LoRAConv2d) for m in merged.values())
    scale = page["LORA_ALPHA"] / math.sqrt(page["lora_rank"])
    for name, adapter in adapters.items():
        weight = adapter.conv.weight.detach()
        change = torch.einsum("or,ri->oi", adapter.B.detach(), adapter.A.detach())
        expected = weight + scale * change.reshape(weight.shape)
        assert type(merged[name]) is nn.Conv2d
        torch.testing.assert_close(merged[name].weight.detach(), expected)
        assert not torch.equal(merged[name].weight, weight)  # the change is not nothing


def test_the_frozen_body_and_its_batch_norm_statistics_do_not_change(first, page, body_state):
    pretrained = body_state(first["pretrained"].body)
    trained = body_state(page["model"].body)
    assert trained.keys() == pretrained.keys()
    for key, value in pretrained.items():
        torch.testing.assert_close(trained[key], value, rtol=0, atol=0, msg=key)
    adapters = [m for m in page["model"].body.modules() if isinstance(m, LoRAConv2d)]
    assert adapters and all(m.B.abs().sum() > 0 for m in adapters)  # the adapters trained


def test_the_lora_parameter_count_matches_a_hand_count(pretraining, page):
    widths, n_classes = pretraining["WIDTHS"], len(pretraining["TARGET_CLASSES"])
    rank = page["lora_rank"]
    convs = [(3, widths[0])]
    for in_channels, width in itertools.pairwise(widths):
        convs += [(in_channels, width), (width, width)]
    adapters = sum(rank * (c_out + 9 * c_in) for c_in, c_out in convs)
    assert page["n_trainable"]["LoRA"] == adapters + widths[-1] * n_classes + n_classes


def test_it_trains_with_the_fine_tuning_pages_loop_and_optimizer(first, page):
    lr = page["lora_rate"]
    params = [torch.zeros(1)]
    assert page["sgd"](params, lr).defaults == first["sgd"](params, lr).defaults
    images, labels = page["target_images"], page["target_labels"]
    epochs, batch_size = first["TARGET_EPOCHS"], first["TARGET_BATCH_SIZE"]
    assert (page["settings"]["epochs"], page["settings"]["batch_size"]) == (epochs, batch_size)
    weights = []
    for train in (first["train"], page["train"]):
        torch.manual_seed(1)
        model = copy.deepcopy(page["pretrained"])
        model.head = nn.Linear(model.head.in_features, 4)
        model.body.requires_grad_(False)
        optimizer = first["sgd"](model.head.parameters(), lr)
        train(model, optimizer, images, labels, epochs, batch_size, model.body)
        weights.append(model.head.weight.detach())
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], torch.zeros_like(weights[0]))


def test_with_lora_the_rule_keeps_the_smallest_pretrained_method_within_noise(page):
    labels, n_trainable = page["val_labels"], page["n_trainable"]
    predictions = {m: p for m, p in page["val_predictions"].items() if m != "from scratch"}
    assert "LoRA" in predictions
    right = {method: (p == labels).sum().item() for method, p in predictions.items()}
    best = max(right, key=right.get)
    tied = [
        method
        for method, p in predictions.items()
        if accuracy_difference(p, predictions[best], labels).within_noise()
    ]
    smallest = min(n_trainable[method] for method in tied)
    assert page["with_lora"] == next(m for m in tied if n_trainable[m] == smallest)


def test_the_page_never_reads_the_test_set():
    tree = ast.parse((GALLERY / PAGE).read_text())
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert not {name for name in names if name == "test" or name.startswith("test_")}


def test_the_chosen_rank_is_the_smallest_within_noise_of_the_best(page):
    labels, predictions = page["val_labels"], page["rank_predictions"]
    right = {rank: (p == labels).sum().item() for rank, p in predictions.items()}
    best = max(right, key=right.get)
    gaps = {
        rank: accuracy_difference(p, predictions[best], labels) for rank, p in predictions.items()
    }
    assert page["lora_rank"] == min(r for r, gap in gaps.items() if gap.within_noise())


def test_each_rank_keeps_its_most_accurate_rate_and_the_chosen_pair_is_used(page):
    runs, rates = page["runs"], page["settings"]["peak_rates"]
    for rank, kept in page["rank_rates"].items():
        accuracy = {lr: runs[rank, lr][1].accuracy for lr in rates}
        assert accuracy[kept] == max(accuracy.values()), rank
    assert page["model"] is runs[page["lora_rank"], page["lora_rate"]][0]
    assert page["lora_rate"] == page["rank_rates"][page["lora_rank"]]
