r"""
Low-rank adapters (LoRA)
========================

:doc:`plot_fine_tuning` adapted a pretrained network to CIFAR-10's four vehicle classes
in ways that train either every weight or only a new head. Low-rank adapters (LoRA) sit
in between: the pretrained weights stay frozen, and each convolution learns a change of
low rank. This page writes the adapter out and checks it on torchvision's ``resnet18``;
:doc:`plot_lora_rank_and_rate` trains it. You will learn:

* how to write LoRA for a convolution, add it to every convolution of a network, and
  merge it back into plain convolutions once trained;
* why, trained with plain SGD, its change is scaled by :math:`\alpha/\sqrt{r}`, so that
  one grid of learning rates suits every rank, as one layer's first step shows;
* in which order to freeze, adapt and replace the head, and how to check that the
  adapted network starts as the pretrained one and that only the adapters and the head
  train.

The page needs no data and no other page's results.
"""

# %%
# Setup
# -----
# ``LORA_ALPHA`` is given, not searched: on the first step its square acts as the rate
# does (derived below); later it also sets :math:`B`'s pace against :math:`A`'s and
# against weight decay, which neither page explores.
import copy
import math

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet18

from pytorch_examples.claims import check

SEED = 0
LORA_RANKS = (2, 4, 8)  # the ranks the first step is measured at; the next page's choice
LORA_ALPHA = 32**0.5  # the change is scaled by LORA_ALPHA / sqrt(rank); see below
FIRST_STEP_LR = 1e-3  # the plain SGD step whose size is measured
N_DRAWS = 32  # draws of the input, the gradient and A that each first step averages over
FIRST_STEP_TOLERANCE = 0.08  # largest relative gap, measured first step against derived
FIRST_STEP_SPREAD = 1.25  # largest first step over the smallest, across ranks, alpha/sqrt(r)
N_CLASSES = 4  # the new head's classes: the vehicles of the fine-tuning page
N_IMAGES, IMAGE_SIZE = 8, 32  # the random batch the starting point and the merge are checked on
# sphinx_gallery_cited_numbers = {"2021": "year of the LoRA paper", "2023": "of rsLoRA's"}

torch.manual_seed(SEED)


# %%
# A low-rank adapter
# ------------------
# LoRA freezes a layer's weight :math:`W` and learns a change of rank at most :math:`r`:
# :math:`W + s B A`, :math:`B` of shape (out, r), :math:`A` of shape (r, in), where for
# a convolution ``in`` counts the weights one output reads and :math:`BA` is reshaped to
# :math:`W`'s shape. :math:`B` starts at zero, so the network starts as the pretrained
# one; :math:`A` starts random, variance :math:`1/\text{in}`, so :math:`B`'s gradient is
# not zero. On the first step only :math:`B` moves, by :math:`-\eta s\, g (Ax)^\top` at
# rate :math:`\eta`, for an input :math:`x` with output gradient :math:`g`; the output
# moves by :math:`-\eta s^2 \lVert Ax \rVert^2 g`, where on average over :math:`A`
# :math:`\lVert Ax \rVert^2 = r \lVert x \rVert^2 / \text{in}`: as :math:`\eta s^2 r`.
# That is plain SGD. The next page adds momentum, whose first step is :math:`1 + \mu`
# times as long at every rank, and weight decay, which leaves :math:`B` at zero and
# shrinks :math:`A` alike at every rank: the argument carries over. Adam divides each
# step by the gradient's running size; this page does not measure it. Under SGD, the LoRA paper's
# scale (Hu et al., 2021), :math:`s = \alpha / r`, gives :math:`\eta \alpha^2 / r`:
# at one rate rank 2 moves four times as far as rank 8, and one grid of rates cannot
# suit every rank. Rank-stabilized LoRA (Kalajdzievski, 2023) scales by :math:`\alpha /
# \sqrt{r}`: :math:`\eta \alpha^2` at every rank, as measured below. :math:`\alpha^2 =
# 32` gives rank 8 the step that :math:`\alpha / r` with :math:`\alpha = 16` would give
# it. The adapter refuses padding modes other than zeros: for those ``nn.Conv2d`` pads
# the input itself, which ``F.conv2d`` with ``padding`` does not do. Once trained, an
# adapter is merged: a plain convolution holding ``merged_weight()`` replaces it, and
# the network costs no more to run than before. The library's
# :mod:`pytorch_examples.adapters` holds these three definitions for
# :doc:`plot_lora_rank_and_rate` to import; this page writes them out because it
# teaches them, and a test keeps the two copies equal.
class LoRAConv2d(nn.Module):
    def __init__(self, conv: nn.Conv2d, rank: int, alpha: float) -> None:
        super().__init__()
        if conv.padding_mode != "zeros":
            raise ValueError(f"padding_mode must be 'zeros', not {conv.padding_mode!r}")
        self.conv = conv.requires_grad_(False)
        fan_in = conv.weight[0].numel()
        self.A = nn.Parameter(torch.randn(rank, fan_in) / math.sqrt(fan_in))
        self.B = nn.Parameter(torch.zeros(conv.out_channels, rank))
        self.scale = alpha / math.sqrt(rank)

    def merged_weight(self) -> torch.Tensor:
        return self.conv.weight + self.scale * (self.B @ self.A).view_as(self.conv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        return F.conv2d(x, self.merged_weight(), c.bias, c.stride, c.padding, c.dilation, c.groups)


def add_lora(module: nn.Module, rank: int, alpha: float) -> nn.Module:
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            setattr(module, name, LoRAConv2d(child, rank, alpha))
        else:
            add_lora(child, rank, alpha)
    return module


def merge_lora(module: nn.Module) -> nn.Module:
    merged = copy.deepcopy(module)
    for parent in list(merged.modules()):
        for name, child in parent.named_children():
            if isinstance(child, LoRAConv2d):
                child.conv.weight = nn.Parameter(child.merged_weight().detach())
                setattr(parent, name, child.conv)
    return merged


# %%
# The first step, measured
# ------------------------
# One adapted convolution, a random input :math:`x` and a fixed output gradient
# :math:`g`; one plain SGD step on :math:`A` and :math:`B`, and the change of the output
# along :math:`g`. Summed over the images and positions :math:`n` (each reads a patch
# :math:`x_n`, zeros beyond the border included), it is :math:`\eta s^2 \lVert \sum_n
# g_n (A x_n)^\top \rVert^2`; on average over :math:`g` (independent, mean zero,
# variance 1) and :math:`A`, :math:`\eta s^2 \, \text{out}\, (r/\text{in}) \sum_n
# \lVert x_n \rVert^2`, the value derived below. Both are averaged over ``N_DRAWS``
# draws; each draw takes the same :math:`x`, :math:`g` and :math:`A` at every scale and
# the same :math:`x` and :math:`g` at every rank, so the :math:`\alpha/r` row is the
# :math:`\alpha/\sqrt{r}` row divided by :math:`r`: the :math:`s^2` of the derivation,
# exactly.
def first_step_change(rank: int, scale: float) -> tuple[float, float]:
    """One SGD step of a fresh adapter: its output's change along the gradient, measured
    and derived, each the mean over N_DRAWS draws."""
    measured, derived = [], []
    with torch.random.fork_rng():  # leaves the page's random state as SEED set it
        for draw in range(N_DRAWS):
            torch.manual_seed(SEED + draw)
            x, gradient = torch.randn(8, 32, 8, 8), torch.randn(8, 32, 8, 8)
            conv = nn.Conv2d(32, 32, 3, padding=1, bias=False)
            layer = LoRAConv2d(conv, rank, alpha=scale * math.sqrt(rank))
            before = layer(x).detach()
            (layer(x) * gradient).sum().backward()
            with torch.no_grad():
                for parameter in (layer.A, layer.B):
                    parameter -= FIRST_STEP_LR * parameter.grad
                measured.append(((before - layer(x)) * gradient).sum().item())
            patches = F.unfold(x, kernel_size=3, padding=1)  # (batch, in, positions)
            out_channels, fan_in = layer.B.shape[0], layer.A.shape[1]
            per_rank = out_channels * patches.pow(2).sum().item() / fan_in
            derived.append(FIRST_STEP_LR * scale**2 * rank * per_rank)
    return sum(measured) / N_DRAWS, sum(derived) / N_DRAWS


steps = {}
for name, scale_of in (("alpha/sqrt(r)", math.sqrt), ("alpha/r", lambda r: r)):
    steps[name] = {r: first_step_change(r, LORA_ALPHA / scale_of(r)) for r in LORA_RANKS}
    shown = ", ".join(f"rank {r} {m:.0f} ({d:.0f})" for r, (m, d) in steps[name].items())
    print(f"first step at {name}, measured (derived): {shown}")
stable = [measured for measured, _ in steps["alpha/sqrt(r)"].values()]
print(f"alpha/sqrt(r): largest over smallest {max(stable) / min(stable):.2f}")
ratio = steps["alpha/r"][2][0] / steps["alpha/r"][8][0]
print(f"alpha/r: rank 2 over rank 8, x{ratio:.2f}")
check(
    all(abs(m / d - 1) < FIRST_STEP_TOLERANCE for s in steps.values() for m, d in s.values()),
    "every measured first step is within FIRST_STEP_TOLERANCE of the derived one",
)
check(max(stable) / min(stable) < FIRST_STEP_SPREAD, "alpha/sqrt(r): alike at every rank")


# %%
# On torchvision's ``resnet18``
# -----------------------------
# The order matters: freeze every weight first, then add the adapters (added before the
# freezing, they would be frozen too), then attach the new head; train with the whole
# network as ``frozen=`` of the fine-tuning page's ``train``, so that batch
# normalization keeps its running statistics. Here on an untrained ``resnet18``, which
# needs no download, in evaluation mode and on a random batch: before any training,
# every adapter's merged weight is exactly its layer's weight, so the adapted network
# computes what the original does, to the last bit.
resnet = resnet18(weights=None).eval()
images = torch.randn(N_IMAGES, 3, IMAGE_SIZE, IMAGE_SIZE)
n_convs = sum(isinstance(layer, nn.Conv2d) for layer in resnet.modules())
with torch.no_grad():
    original_output = resnet(images)
    resnet.requires_grad_(False)
    add_lora(resnet, LORA_RANKS[0], LORA_ALPHA)
    start_gap = (resnet(images) - original_output).abs().max().item()
print(f"largest difference of the outputs, adapted against original: {start_gap}")
check(start_gap == 0, "the adapted network starts exactly as the original")
resnet.fc = nn.Linear(resnet.fc.in_features, N_CLASSES)
n_wrapped = sum(isinstance(layer, LoRAConv2d) for layer in resnet.modules())
n_resnet_trainable = sum(p.numel() for p in resnet.parameters() if p.requires_grad)
n_head = sum(p.numel() for p in resnet.fc.parameters())
n_conv_weights = sum(m.conv.weight.numel() for m in resnet.modules() if isinstance(m, LoRAConv2d))
print(f"resnet18: {n_wrapped} of {n_convs} convolutions wrapped at rank {LORA_RANKS[0]}; ", end="")
print(f"{n_resnet_trainable:,} of {sum(p.numel() for p in resnet.parameters()):,} trainable:")
print(f"  {n_resnet_trainable - n_head:,} in the adapters, against {n_conv_weights:,} ", end="")
print(f"weights in the convolutions they adapt, and {n_head:,} in the head")
check(n_wrapped == n_convs, "add_lora wraps every convolution of resnet18")
trains = {name: p.requires_grad for name, p in resnet.named_parameters()}
adapter_or_head = {name: name.endswith((".A", ".B")) or name[:3] == "fc." for name in trains}
check(trains == adapter_or_head, "on resnet18, just the adapters' A, B and the new head train")
wrong_order = add_lora(resnet18(weights=None), LORA_RANKS[0], LORA_ALPHA).requires_grad_(False)
n_wrong = sum(p.requires_grad for p in wrong_order.parameters())
print(f"adapters added first, then frozen: {n_wrong} trainable tensors")

# %%
# Merging
# -------
# Training leaves :math:`B` nonzero; here it is drawn at random instead, which is all
# the merge needs. The merged network has no adapters left, the size of ``resnet18``
# with the new head, and the same outputs (the adapter's forward already uses
# ``merged_weight()``, so this checks the swap). :doc:`plot_lora_rank_and_rate` merges
# the adapters it trains the same way, and checks the rank of each learned change.
with torch.no_grad():
    for adapter in (layer for layer in resnet.modules() if isinstance(layer, LoRAConv2d)):
        adapter.B.normal_(std=0.01)
merged = merge_lora(resnet)
with torch.no_grad():
    merge_gap = (merged(images) - resnet(images)).abs().max().item()
n_merged = sum(p.numel() for p in merged.parameters())
unadapted = resnet18(weights=None)
unadapted.fc = nn.Linear(unadapted.fc.in_features, N_CLASSES)
n_unadapted = sum(p.numel() for p in unadapted.parameters())
print(f"merged: {n_merged:,} parameters; largest difference of the outputs {merge_gap}")
check(not any(isinstance(layer, LoRAConv2d) for layer in merged.modules()), "no adapter is left")
check(merge_gap == 0, "the merged network's outputs are the adapted one's: the swap is right")
check(n_merged == n_unadapted, "merged, it has the size of resnet18 with the new head")

# %%
# A change of rank at most :math:`r` per convolution costs :math:`r(\text{out} +
# \text{in})` trainable numbers instead of :math:`\text{out} \cdot \text{in}`: on
# ``resnet18``, the adapters' count against the convolutions' printed above. Whether so
# few are enough is a question of accuracy, measured on validation on the next page.
