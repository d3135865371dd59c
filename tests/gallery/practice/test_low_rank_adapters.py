"""The LoRA page: its layer, what it reads from the other pages, its training and choices.

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
from torchvision.models import resnet18

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.comparison import accuracy_difference
from pytorch_examples.results import MissingResultsError

PAGE = "practice/plot_low_rank_adapters.py"


@pytest.fixture(scope="module")
def pretraining(gallery_page):
    return gallery_page("practice/plot_pretraining.py")  # pretrains and saves


@pytest.fixture(scope="module")
def first(gallery_page, pretraining):
    return gallery_page("practice/plot_fine_tuning.py")  # compares the methods and saves


@pytest.fixture(scope="module")
def page(gallery_page, first):
    return gallery_page(PAGE)


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


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups", "bias"),
    [(1, 1, 1, 1, False), (2, 0, 1, 1, True), (1, "same", 2, 1, False), (1, 2, 1, 3, True)],
)
def test_a_lora_convolution_starts_as_its_layer_and_adds_the_scaled_low_rank_change(
    page, stride, padding, dilation, groups, bias
):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 9, 3, stride, padding, dilation, groups, bias)
    weight, x = conv.weight.detach().clone(), torch.randn(2, 6, 9, 9)
    layer = page["LoRAConv2d"](conv, rank=3, alpha=6.0)
    torch.testing.assert_close(layer(x), conv(x), rtol=0, atol=0)  # nn.Conv2d's own forward
    assert [name for name, p in layer.named_parameters() if p.requires_grad] == ["A", "B"]
    fan_in = 6 // groups * 9
    assert sum(p.numel() for p in layer.parameters() if p.requires_grad) == 3 * (9 + fan_in)

    with torch.no_grad():
        layer.B.normal_()  # as if trained
    change = torch.einsum("or,ri->oi", layer.B.detach(), layer.A.detach()).reshape(weight.shape)
    merged = weight + 6.0 / math.sqrt(3) * change  # rank-stabilized: alpha / sqrt(rank)
    torch.testing.assert_close(layer.merged_weight(), merged)
    plain = nn.Conv2d(6, 9, 3, stride, padding, dilation, groups, bias)
    with torch.no_grad():
        plain.weight.copy_(merged)
        if bias:
            plain.bias.copy_(conv.bias)
    torch.testing.assert_close(layer(x), plain(x))
    assert not torch.allclose(layer(x), conv(x))


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
def test_a_lora_convolution_refuses_a_padding_mode_other_than_zeros(page, padding_mode):
    conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode=padding_mode)
    with pytest.raises(ValueError, match=padding_mode):
        page["LoRAConv2d"](conv, rank=2, alpha=2.0)
    page["LoRAConv2d"](nn.Conv2d(2, 3, 3, padding=1), rank=2, alpha=2.0)  # zeros: accepted


def test_add_lora_wraps_every_convolution_of_a_torchvision_resnet(page):
    torch.manual_seed(0)
    model = resnet18(weights=None).eval()
    n_convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        page["add_lora"](model, 2)
        after = model(x)
    wrapped = [m for m in model.modules() if isinstance(m, page["LoRAConv2d"])]
    assert len(wrapped) == n_convs == 20
    assert all(isinstance(m.conv, nn.Conv2d) for m in wrapped)
    torch.testing.assert_close(after, before, rtol=0, atol=0)


def test_on_resnet18_the_trainable_count_is_the_adapters_and_the_head_by_hand(page):
    resnet, lora = page["resnet"], page["LoRAConv2d"]
    # By hand: rank * (out + in * kh * kw) per convolution of a fresh resnet18, plus the head.
    rank, n_classes = page["LORA_RANKS"][0], resnet.fc.out_features
    adapters = sum(
        rank * (c.out_channels + c.in_channels * c.kernel_size[0] * c.kernel_size[1])
        for c in resnet18(weights=None).modules()
        if isinstance(c, nn.Conv2d)
    )
    assert page["n_resnet_trainable"] == adapters + 512 * n_classes + n_classes
    assert all(isinstance(m.conv, nn.Conv2d) for m in resnet.modules() if isinstance(m, lora))


def test_the_merged_network_holds_each_weight_plus_its_scaled_low_rank_change(page):
    merged = dict(page["merged"].named_modules())
    adapters = {
        name: m for name, m in page["model"].named_modules() if isinstance(m, page["LoRAConv2d"])
    }
    assert adapters and not any(isinstance(m, page["LoRAConv2d"]) for m in merged.values())
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
    adapters = [m for m in page["model"].body.modules() if isinstance(m, page["LoRAConv2d"])]
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


def test_the_first_step_goes_as_alpha_squared_at_ranks_beyond_the_pages(page):
    # Derived on the page: the first step moves the output by lr * s**2 * |Ax|**2 along
    # the gradient, |Ax|**2 grows as the rank, so s = alpha / sqrt(rank) leaves lr * alpha**2.
    step = page["first_step_change"]
    stable = {rank: step(rank, 4.0 / math.sqrt(rank)) for rank in (1, 16)}  # not on the page
    assert max(stable.values()) / min(stable.values()) < page["FIRST_STEP_SPREAD"], stable
    assert step(4, 8.0 / 2) / step(4, 4.0 / 2) == pytest.approx(4.0, rel=1e-3)  # alpha squared


def test_the_adapters_output_is_the_layers_plus_the_scaled_path_through_a_then_b(page):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 10, 3, stride=2, padding=1, bias=True)
    layer = page["LoRAConv2d"](conv, rank=3, alpha=5.0)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(2, 6, 11, 11)
    # A as a convolution of 3 output channels with conv's geometry, then B as a 1 x 1 one.
    through_a = nn.functional.conv2d(x, layer.A.view(3, 6, 3, 3), stride=2, padding=1)
    path = nn.functional.conv2d(through_a, layer.B.view(10, 3, 1, 1))
    expected = conv(x) + 5.0 / math.sqrt(3) * path
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)
