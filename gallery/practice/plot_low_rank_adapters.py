r"""
Low-rank adapters (LoRA)
========================

:doc:`plot_fine_tuning` adapted a pretrained network to CIFAR-10's four vehicle classes
in ways that train either every weight or only a new head. Low-rank adapters (LoRA) sit
in between: the pretrained weights stay frozen, and each convolution learns a change of
low rank. You will learn:

* how to write LoRA for a convolution and add it to every convolution of a network,
  torchvision's included; how to check that it starts as the pretrained one and merges;
* why its change is scaled by :math:`\alpha/\sqrt{r}`, so that one grid of rates suits
  every rank, and how to choose the rank and rate on validation;
* how LoRA then compares, paired, with the fine-tuning page's methods.

Run :doc:`plot_pretraining` and :doc:`plot_fine_tuning` first; without what they saved,
this page stops and says so. :doc:`plot_torchvision_weights` comes next.
"""

# %%
# Setup
# -----
# The pretraining page saved the network, the splits and the standardization; the
# fine-tuning page its settings and, per method, the chosen rate, validation predictions
# and size, and its choice. ``LORA_ALPHA`` is given, not searched: on the first step its
# square acts as the rate does (derived below); later it also sets B's pace against A's,
# which this page does not explore.
import copy
import math

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet18

from pytorch_examples.claims import check
from pytorch_examples.comparison import (
    accuracy_difference,
    cheapest_within_noise,
    mean_standard_error,
)
from pytorch_examples.data.cifar10 import load_cifar10, normalize, random_crop_flip
from pytorch_examples.evaluation import eval_mode, evaluate
from pytorch_examples.results import MissingResultsError, results_dir

LORA_RANKS = (2, 4, 8)  # the rank is chosen from these
LORA_ALPHA = 32**0.5  # the change is scaled by LORA_ALPHA / sqrt(rank); see below
N_START_IMAGES = 256  # validation images the starting point and the merge are checked on
MERGE_TOLERANCE = 1e-4  # largest difference of the outputs, merged against adapted
FIRST_STEP_SPREAD = 1.25  # largest first step over the smallest, across ranks, alpha/sqrt(r)
NEAR_CHANCE = 0.05  # runs that end within this of chance are listed as failed
# sphinx_gallery_cited_numbers = {"2021": "year of the LoRA paper", "2023": "of rsLoRA's"}
LAYERS = [nn.Sequential, nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.ReLU]
LAYERS += [nn.AdaptiveMaxPool2d, nn.Flatten, nn.Linear]


pages = []
for name in ("pretrained.pt", "fine_tuning.pt"):
    if not (results_dir() / name).exists():
        raise MissingResultsError(
            f"{results_dir() / name} does not exist. Run plot_pretraining.py, then "
            "plot_fine_tuning.py first: this page adapts the network they train and compare."
        )
    with torch.serialization.safe_globals(LAYERS):
        pages.append(torch.load(results_dir() / name, weights_only=True))
first_page, second_page = pages
data = load_cifar10()
print(data.describe_source())
pretrained, settings = first_page["pretrained"], second_page["settings"]
target_index, target_labels = first_page["splits"]["target"]
val_index, val_labels = first_page["splits"]["val"]
target_images, val_images = data.train.images[target_index], data.train.images[val_index]
print(f"target {len(target_labels)}, validation {len(val_labels)} images; settings {settings}")


def to_input(images):
    """Standardize with the pretrained network's statistics, as the other pages did."""
    standardized = normalize(images, first_page["mean"], first_page["std"])
    return standardized.contiguous(memory_format=torch.channels_last)


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
# The LoRA paper (Hu et al., 2021) scales by :math:`s = \alpha / r`: :math:`\eta
# \alpha^2 / r`, so at one rate rank 2 moves four times as far as rank 8, and one grid
# of rates cannot suit every rank. Rank-stabilized LoRA (Kalajdzievski, 2023) scales by
# :math:`\alpha / \sqrt{r}`: :math:`\eta \alpha^2` at every rank, as measured below.
# :math:`\alpha^2 = 32` gives rank 8 the step it had with :math:`\alpha / r` and
# :math:`\alpha = 16`. The adapter refuses a padding mode other than zeros, which
# ``nn.Conv2d`` applies to the input itself.
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


def add_lora(module, rank):
    """Replace every convolution inside ``module`` by a frozen one with an adapter."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            setattr(module, name, LoRAConv2d(child, rank, LORA_ALPHA))
        else:
            add_lora(child, rank)
    return module


def first_step_change(rank, scale):
    """How far one plain SGD step moves a fresh adapter's output along a fixed gradient."""
    changes = []
    for seed in range(4):  # the mean over four draws of A
        torch.manual_seed(seed)
        conv = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        layer = LoRAConv2d(conv, rank, alpha=scale * math.sqrt(rank))
        x, gradient = torch.randn(8, 32, 8, 8), torch.randn(8, 32, 8, 8)
        before = layer(x).detach()
        (layer(x) * gradient).sum().backward()
        with torch.no_grad():
            for parameter in (layer.A, layer.B):
                parameter -= 1e-3 * parameter.grad
            changes.append(((before - layer(x)) * gradient).sum())
    return torch.stack(changes).mean().item()


stable = {r: first_step_change(r, LORA_ALPHA / math.sqrt(r)) for r in LORA_RANKS}
print("first step, alpha/sqrt(r): " + ", ".join(f"rank {r} {c:.0f}" for r, c in stable.items()))
by_rank = [first_step_change(r, LORA_ALPHA / r) for r in (2, 8)]
print(f"first step, alpha/r: rank 2 over rank 8, x{by_rank[0] / by_rank[1]:.2f}")
spread = max(stable.values()) / min(stable.values())
check(spread < FIRST_STEP_SPREAD, "alpha/sqrt(r): the first step agrees within FIRST_STEP_SPREAD")
check(abs(by_rank[0] / by_rank[1] / 4 - 1) < 0.25, "alpha/r: rank 2's first step is about 4x")


# %%
# On torchvision's ``resnet18`` the order matters: freeze every weight first, then add
# the adapters (added before the freezing, they would be frozen too), then attach the new
# head; train with the whole network as ``frozen=``, so that batch normalization keeps
# its running statistics. Here on an untrained ``resnet18``, which needs no download:
resnet = resnet18(weights=None)
n_convs = sum(isinstance(layer, nn.Conv2d) for layer in resnet.modules())
resnet.requires_grad_(False)
add_lora(resnet, LORA_RANKS[0])
resnet.fc = nn.Linear(resnet.fc.in_features, len(first_page["target_classes"]))
n_wrapped = sum(isinstance(layer, LoRAConv2d) for layer in resnet.modules())
n_resnet_trainable = sum(p.numel() for p in resnet.parameters() if p.requires_grad)
print(f"resnet18: {n_wrapped} of {n_convs} convolutions wrapped; ", end="")
print(f"{n_resnet_trainable:,} of {sum(p.numel() for p in resnet.parameters()):,} trainable")
check(n_wrapped == n_convs, "add_lora wraps every convolution of resnet18")
trains = {name: p.requires_grad for name, p in resnet.named_parameters()}
adapter_or_head = {name: name.endswith((".A", ".B")) or name[:3] == "fc." for name in trains}
check(trains == adapter_or_head, "on resnet18, just the adapters' A, B and the new head train")


# %%
# Training
# --------
# The fine-tuning page's loop, optimizer and settings, repeated so that this page shows
# all it runs. As for its linear probe, a copy of the pretrained network gets a new head
# and a frozen body, kept in evaluation mode; each convolution of the body, an adapter.
def sgd(params, lr):  # OneCycleLR replaces this momentum: 0.95 down to 0.85 and back
    return torch.optim.SGD(params, lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


def train(model, optimizer, images, labels, epochs, batch_size, frozen):
    """One-cycle SGD on augmented images; the ``frozen`` module stays in evaluation mode."""
    steps_per_epoch = len(labels) // batch_size
    peaks = [group["lr"] for group in optimizer.param_groups]
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, peaks, total_steps=epochs * steps_per_epoch, pct_start=0.25
    )
    for _ in range(epochs):
        model.train()
        frozen.eval()
        order = torch.randperm(len(labels))
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            batch = to_input(random_crop_flip(images[index], first_page["crop_padding"]))
            loss = F.cross_entropy(model(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model


def adapted(rank):
    """A copy of the pretrained network: new head, frozen body, an adapter per convolution."""
    model = copy.deepcopy(pretrained)
    model.head = nn.Linear(pretrained.head.in_features, len(first_page["target_classes"]))
    model.body.requires_grad_(False)
    return model, add_lora(model.body, rank)


def run(rank, lr):
    torch.manual_seed(settings["seed"])
    model, body = adapted(rank)
    optimizer = sgd([p for p in model.parameters() if p.requires_grad], lr)
    epochs, batch_size = settings["epochs"], settings["batch_size"]
    train(model, optimizer, target_images, target_labels, epochs, batch_size, body)
    return model, evaluate(model, val_images, val_labels, batch_size=1000, prepare=to_input)


# %%
# Before any training, every adapter's merged weight is exactly its pretrained weight,
# so the adapted body computes the pretrained features:
model, _ = adapted(LORA_RANKS[0])
adapters = [layer for layer in model.modules() if isinstance(layer, LoRAConv2d)]
with torch.no_grad():
    unchanged = all(torch.equal(m.merged_weight(), m.conv.weight) for m in adapters)
check(unchanged, "every adapted convolution's merged weight starts as its pretrained weight")
batch = to_input(val_images[:N_START_IMAGES])
with torch.no_grad(), eval_mode(pretrained), eval_mode(model):
    start_gap = (model.body(batch) - pretrained.body(batch)).abs().max().item()
print(f"largest difference of the features before training: {start_gap}")


# %%
# Choosing the rank and the rate
# ------------------------------
# Every rank of ``LORA_RANKS`` trains once at each of the fine-tuning page's
# ``peak_rates``. The rules, fixed before the runs: each rank keeps its most accurate
# rate on validation; then, of the ranks within noise of the most accurate, the smallest
# (``cheapest_within_noise``, with the rank as the cost). A rate or rank kept at its
# grid's edge is flagged: a better one may lie beyond.
runs, rank_rates, rates = {}, {}, settings["peak_rates"]
for rank in LORA_RANKS:
    for lr in rates:
        runs[rank, lr] = run(rank, lr)
    rank_rates[rank] = kept = max(rates, key=lambda lr: runs[rank, lr][1].accuracy)
    shown = ", ".join(f"{runs[rank, lr][1].accuracy:.4f}" for lr in rates)
    edge = " (the grid's edge)" if kept in (min(rates), max(rates)) else ""
    print(f"rank {rank}: accuracy {shown} at {rates}; kept {kept:g}{edge}")
rank_predictions = {rank: runs[rank, rank_rates[rank]][1].predictions for rank in LORA_RANKS}
lora_rank = cheapest_within_noise(rank_predictions, val_labels, cost=int)
lora_rate, model = rank_rates[lora_rank], runs[lora_rank, rank_rates[lora_rank]][0]
best_rank = max(LORA_RANKS, key=lambda rank: runs[rank, rank_rates[rank]][1].accuracy)
rank_gaps = {
    rank: accuracy_difference(rank_predictions[rank], rank_predictions[best_rank], val_labels)
    for rank in LORA_RANKS
}
for rank in LORA_RANKS:
    if rank != best_rank:
        print(rank_gaps[rank].describe(f"rank {rank}", f"rank {best_rank}"))
edge = " (the grid's edge)" if lora_rank in (min(LORA_RANKS), max(LORA_RANKS)) else ""
print(f"chosen: rank {lora_rank}{edge}, peak rate {lora_rate:g}")
chance = 1 / len(first_page["target_classes"])
failed = [key for key, (_, result) in runs.items() if result.accuracy <= chance + NEAR_CHANCE]
print(f"runs within NEAR_CHANCE of chance, as (rank, rate): {failed}")

check(len(set(rank_rates.values())) == 1, "every rank keeps the same rate")
check(
    all(gap.within_noise() for gap in rank_gaps.values()),
    "every rank is within noise of the most accurate",
)
check(set(failed) == {(rank, max(rates)) for rank in LORA_RANKS}, "the top rate alone fails")

# %%
# As the derivation predicts, every rank keeps the same rate and the top rate alone
# fails, at every rank. The ranks are within noise of the most
# accurate; the rule keeps the smallest, at the grid's edge: a smaller might do as well.
#
# Each trained adapter can now be merged: a plain convolution holding
# ``merged_weight()`` replaces it. Every learned change has rank at most :math:`r`; the
# merged outputs match the adapted ones within ``MERGE_TOLERANCE`` (the forward already
# uses ``merged_weight()``: this checks the swap), at full fine-tuning's size.
adapters = [layer for layer in model.modules() if isinstance(layer, LoRAConv2d)]
with torch.no_grad():
    changes = [(m.merged_weight() - m.conv.weight).flatten(1) for m in adapters]
change_ranks = [torch.linalg.matrix_rank(change).item() for change in changes]
print(f"rank of each learned change: {change_ranks}")
check(max(change_ranks) <= lora_rank, "every learned change has rank at most r")
merged = copy.deepcopy(model)
for parent in list(merged.modules()):
    for name, child in parent.named_children():
        if isinstance(child, LoRAConv2d):
            child.conv.weight = nn.Parameter(child.merged_weight().detach())
            setattr(parent, name, child.conv)
with torch.no_grad(), eval_mode(model), eval_mode(merged):
    merge_gap = (merged(batch) - model(batch)).abs().max().item()
n_merged = sum(p.numel() for p in merged.parameters())
print(f"merged: {n_merged:,} parameters; largest difference of the outputs {merge_gap:.1e}")
check(merge_gap <= MERGE_TOLERANCE, "the merged network's outputs match: the swap is right")
n_trainable = dict(second_page["n_trainable"])
n_trainable["LoRA"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
check(n_merged == n_trainable["full fine-tuning"], "merged, it has full fine-tuning's size")

# %%
# Compared on validation, and the choice
# --------------------------------------
# LoRA at its chosen rank and rate joins the fine-tuning page's methods at theirs, on
# the same validation images, and that page's rule is applied again: among the
# pretrained methods within noise of the most accurate, the fewest trainable
# parameters. Each accuracy is the best of a search on these images, so each is
# optimistic; LoRA's the more, chosen from ``len(LORA_RANKS)`` times as many runs. The
# standard errors cover the sampling of the validation images, not retraining with
# another seed, which was not measured.
val_predictions = {**second_page["val_predictions"], "LoRA": rank_predictions[lora_rank]}
for method, predictions in val_predictions.items():
    correct = (predictions == val_labels).float()
    print(f"{method} ({n_trainable[method]:,} trainable): validation accuracy ", end="")
    print(f"{correct.mean():.4f} ± {mean_standard_error(correct):.4f}")
chosen = second_page["chosen"]
candidates = {m: p for m, p in val_predictions.items() if m != "from scratch"}
most_accurate = max(candidates, key=lambda method: (candidates[method] == val_labels).sum())
pairs = [("LoRA", chosen), ("LoRA", "linear probe")]
pairs += [(method, most_accurate) for method in candidates if method != most_accurate]
gaps = {}
for a, b in dict.fromkeys(pairs):
    gaps[a, b] = accuracy_difference(val_predictions[a], val_predictions[b], val_labels)
    print(gaps[a, b].describe(a, b))
with_lora = cheapest_within_noise(candidates, val_labels, n_trainable.__getitem__)
print(f"chosen with LoRA among the candidates: {with_lora}")
check(gaps["LoRA", "linear probe"].a_higher(), "LoRA is more accurate than the linear probe")
check(gaps["LoRA", chosen].a_lower(), "LoRA is less accurate than the fine-tuning page's choice")
check(with_lora == chosen, "with LoRA among the candidates, the rule keeps the first choice")

# %%
# At the ranks and rates searched, low-rank changes to the frozen features are more
# accurate than the linear probe, with far fewer trainable parameters than full
# fine-tuning (the counts above), but less accurate than the chosen method. The choice
# stands, so this page leaves the test set alone: a second look that no choice needs.
# Had LoRA been kept, it would have to train on the fine-tuning page, among the
# candidates, before the test set is scored.
