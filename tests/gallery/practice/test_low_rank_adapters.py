"""The LoRA page: its layer, what it reads from the fine-tuning page, its training and choice.

It runs after the fine-tuning page's small run (same session), on what that run saved.
"""

from __future__ import annotations

import ast
import copy
import itertools

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet18

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.results import MissingResultsError

PAGE = "practice/plot_low_rank_adapters.py"


@pytest.fixture(scope="module")
def first(gallery_page):
    return gallery_page("practice/plot_fine_tuning.py")  # pretrains and saves


@pytest.fixture(scope="module")
def page(gallery_page, first):
    return gallery_page(PAGE)


def test_run_alone_it_says_to_run_the_fine_tuning_page_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"Run plot_fine_tuning\.py first"):
        run_page(GALLERY / PAGE)


def test_it_adapts_the_network_and_pairs_the_images_the_first_page_used(first, page):
    expected = first["pretrained"].state_dict()
    loaded = page["pretrained"].state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], value) for key, value in expected.items())
    for name in ("target_images", "target_labels", "val_images", "val_labels"):
        assert torch.equal(page[name], first[name]), name
    assert page["chosen"] == first["chosen"]
    for method, predictions in first["val_predictions"].items():
        assert torch.equal(page["val_predictions"][method], predictions)


@pytest.mark.parametrize(("stride", "padding", "bias"), [(1, 1, False), (2, 0, True)])
def test_a_lora_convolution_starts_as_its_layer_and_adds_the_scaled_low_rank_change(
    page, stride, padding, bias
):
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, kernel_size=3, stride=stride, padding=padding, bias=bias)
    weight, x = conv.weight.detach().clone(), torch.randn(2, 5, 9, 9)
    layer = page["LoRAConv2d"](conv, rank=3, alpha=6.0)
    expected = F.conv2d(x, weight, conv.bias, stride=stride, padding=padding)
    torch.testing.assert_close(layer(x), expected, rtol=0, atol=0)
    assert [name for name, p in layer.named_parameters() if p.requires_grad] == ["A", "B"]
    assert sum(p.numel() for p in layer.parameters() if p.requires_grad) == 3 * (7 + 5 * 9)

    with torch.no_grad():
        layer.B.normal_()  # as if trained
    change = torch.einsum("or,ri->oi", layer.B.detach(), layer.A.detach()).reshape(7, 5, 3, 3)
    merged = weight + 6.0 / 3 * change
    torch.testing.assert_close(layer.merged_weight(), merged)
    expected = F.conv2d(x, merged, conv.bias, stride=stride, padding=padding)
    torch.testing.assert_close(layer(x), expected)
    assert not torch.allclose(layer(x), F.conv2d(x, weight, conv.bias, stride, padding))


def test_add_lora_wraps_every_convolution_of_a_torchvision_resnet(page):
    torch.manual_seed(0)
    model = resnet18(weights=None).eval()
    n_convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        page["add_lora"](model)
        after = model(x)
    wrapped = [m for m in model.modules() if isinstance(m, page["LoRAConv2d"])]
    assert len(wrapped) == n_convs == 20
    assert all(isinstance(m.conv, nn.Conv2d) for m in wrapped)
    torch.testing.assert_close(after, before, rtol=0, atol=0)


def test_on_resnet18_only_the_adapters_and_the_new_head_train(page):
    resnet, lora = page["resnet"], page["LoRAConv2d"]
    trainable = {name for name, p in resnet.named_parameters() if p.requires_grad}
    assert trainable == {
        name for name, _ in resnet.named_parameters() if name.endswith((".A", ".B"))
    } | {"fc.weight", "fc.bias"}
    # By hand: rank * (out + in * kh * kw) per convolution of a fresh resnet18, plus the head.
    rank, n_classes = page["LORA_RANK"], resnet.fc.out_features
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
    scale = page["LORA_ALPHA"] / page["LORA_RANK"]
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


def test_the_lora_parameter_count_matches_a_hand_count(first, page):
    widths, n_classes, rank = first["WIDTHS"], len(first["TARGET_CLASSES"]), page["LORA_RANK"]
    convs = [(3, widths[0])]
    for in_channels, width in itertools.pairwise(widths):
        convs += [(in_channels, width), (width, width)]
    adapters = sum(rank * (c_out + 9 * c_in) for c_in, c_out in convs)
    assert page["n_trainable"]["LoRA"] == adapters + widths[-1] * n_classes + n_classes


def test_it_trains_with_the_first_pages_loop_and_optimizer(first, page):
    lr = page["settings"]["lr"]
    assert page["optimizer"].defaults == first["sgd"]([torch.zeros(1)], lr).defaults
    images, labels = page["target_images"], page["target_labels"]
    epochs, batch_size = first["TARGET_EPOCHS"], first["TARGET_BATCH_SIZE"]
    weights = []
    for train, settings in ((first["train"], (epochs, batch_size)), (page["train"], ())):
        torch.manual_seed(1)
        model = copy.deepcopy(page["pretrained"])
        model.head = nn.Linear(model.head.in_features, 4)
        model.body.requires_grad_(False)
        optimizer = first["sgd"](model.head.parameters(), lr)
        train(model, optimizer, images, labels, *settings, frozen=model.body)
        weights.append(model.head.weight.detach())
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], torch.zeros_like(weights[0]))


def test_its_choice_rule_is_the_first_pages(first, page):
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(3, (300,), generator=generator)
    counts = {"from scratch": 9, "a": 5, "b": 3, "c": 7}
    outcomes = set()
    for _ in range(30):
        predictions = {}
        for method in counts:
            right = torch.rand(300, generator=generator) < torch.rand(1, generator=generator)
            predictions[method] = torch.where(right, labels, (labels + 1) % 3)
        expected = first["choose"](predictions, counts, labels)
        assert page["choose"](predictions, counts, labels) == expected
        outcomes.add(expected)
    assert len(outcomes) > 1  # varied cases, not one answer throughout


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
