"""The LoRA layer page: its code is the library's, its first step, its resnet18 checks."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from pages import GALLERY
from pytorch_examples import adapters

PAGE = "practice/plot_low_rank_adapters.py"
DEFINITIONS = ("LoRAConv2d", "add_lora", "merge_lora")


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def definitions_without_docstrings(path: Path) -> dict[str, str]:
    """The top-level definitions of ``DEFINITIONS`` in a file, as AST dumps with no docstrings."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name in DEFINITIONS:
            for inner in ast.walk(node):
                body = getattr(inner, "body", None)
                if (
                    isinstance(inner, ast.ClassDef | ast.FunctionDef)
                    and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)
                ):
                    inner.body = body[1:]
            found[node.name] = ast.dump(node)
    return found


def test_the_page_writes_out_the_same_adapter_code_as_the_library():
    on_page = definitions_without_docstrings(GALLERY / PAGE)
    in_library = definitions_without_docstrings(Path(adapters.__file__))
    assert set(on_page) == set(in_library) == set(DEFINITIONS)
    for name in DEFINITIONS:
        assert on_page[name] == in_library[name], f"{name} differs between page and library"


def test_the_first_step_matches_its_derivation_at_ranks_beyond_the_pages(page, monkeypatch):
    # Derived on the page: the first step moves the output by lr * s**2 * out * (r / in) *
    # |x|**2 along the gradient, so s = alpha / sqrt(rank) leaves it alike at every rank.
    step = page["first_step_change"]
    doubled, single = step(4, 8.0 / 2), step(4, 4.0 / 2)
    assert doubled[0] / single[0] == pytest.approx(4.0, rel=1e-3)  # s squared, same draws
    assert doubled[1] / single[1] == pytest.approx(4.0, rel=1e-9)
    # Rank 1 averages over few numbers of A: more draws than the page's, for less noise.
    monkeypatch.setitem(step.__globals__, "N_DRAWS", 40)
    derived = {}
    for rank in (1, 16):  # not on the page
        measured, derived[rank] = step(rank, 4.0 / math.sqrt(rank))
        assert measured == pytest.approx(derived[rank], rel=page["FIRST_STEP_TOLERANCE"]), rank
    assert derived[1] == pytest.approx(derived[16])


def test_the_first_step_measurement_leaves_the_pages_random_state_alone(page):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    page["first_step_change"](2, 1.0)
    assert torch.equal(torch.rand(3), expected)


def test_on_resnet18_the_trainable_count_is_the_adapters_and_the_head_by_hand(page):
    resnet, lora = page["resnet"], page["LoRAConv2d"]
    # By hand: rank * (out + in * kh * kw) per convolution of a fresh resnet18, plus the head.
    rank, n_classes = page["LORA_RANKS"][0], page["N_CLASSES"]
    n_adapters = sum(
        rank * (c.out_channels + c.in_channels * c.kernel_size[0] * c.kernel_size[1])
        for c in resnet18(weights=None).modules()
        if isinstance(c, nn.Conv2d)
    )
    assert page["n_head"] == 512 * n_classes + n_classes
    n_weights = sum(c.weight.numel() for c in resnet18().modules() if isinstance(c, nn.Conv2d))
    assert page["n_conv_weights"] == n_weights
    assert page["n_resnet_trainable"] == n_adapters + page["n_head"]
    assert all(isinstance(m.conv, nn.Conv2d) for m in resnet.modules() if isinstance(m, lora))


def test_the_merged_resnet_holds_each_weight_plus_its_scaled_change(page):
    merged = dict(page["merged"].named_modules())
    wrapped = {
        name: m for name, m in page["resnet"].named_modules() if isinstance(m, page["LoRAConv2d"])
    }
    assert len(wrapped) == 20
    scale = page["LORA_ALPHA"] / math.sqrt(page["LORA_RANKS"][0])
    for name, adapter in wrapped.items():
        weight = adapter.conv.weight.detach()
        change = torch.einsum("or,ri->oi", adapter.B.detach(), adapter.A.detach())
        assert type(merged[name]) is nn.Conv2d
        torch.testing.assert_close(
            merged[name].weight.detach(), weight + scale * change.view_as(weight)
        )
        assert not torch.equal(merged[name].weight, weight)  # the change is not nothing
