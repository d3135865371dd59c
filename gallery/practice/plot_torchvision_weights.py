r"""
Starting from torchvision's weights
===================================

The pages before this one pretrain their own network, because weights cannot be
downloaded while this site is built. Where PyTorch's servers can be reached, the same
methods start from a network that torchvision pretrained on ImageNet. This page shows
what changes, on torchvision's ``resnet18`` built without its weights (no download),
and ends with the lines that download them. You will learn:

* which preprocessing pretrained weights come with for evaluation, and how it replaces
  the pages' standardization;
* how each method of :doc:`plot_fine_tuning` maps onto ``resnet18``: the head is
  ``fc``, the stages for parameter groups are ``layer1`` to ``layer4`` after a stem;
* why the rates chosen for the small network are chosen again for this one.

It runs alone; its last block, not run here, needs :doc:`plot_fine_tuning` run first in
the same session.
"""

# %%
# The weights' preprocessing
# --------------------------
# Each set of weights carries the preprocessing to evaluate with, printed below without
# a download: resize, crop the centre, standardize with ImageNet's channel statistics
# (the weights were trained on random crops of varied size and flips instead). It takes
# the ``uint8`` CIFAR-10 images as they are and replaces the pages' ``to_input``. It
# enlarges them, so scoring needs a smaller batch: activations grow with the image's
# area, by the factor printed.
import torch
from torch import nn
from torchvision.models import ResNet18_Weights, resnet18

from pytorch_examples.claims import check

SEED = 0
N_CLASSES = 4  # the four vehicles of the fine-tuning pages
EARLY_LR_FACTORS = (0.1, 0.1, 0.3, 0.6, 1.0)  # the stem, then layer1 to layer4
CIFAR_SIZE = 32  # pixels on a side
SCORE_BATCH_SIZE = 100  # images scored at once, at 224 pixels (the pages use 1000 at 32)
RESNET_PEAK_RATES = (0.001, 0.003, 0.01, 0.03)  # for the block at the end, not run here

torch.manual_seed(SEED)
weights = ResNet18_Weights.DEFAULT
preprocess = weights.transforms()
print(f"{weights}: {preprocess}")
images = torch.randint(256, (2, 3, CIFAR_SIZE, CIFAR_SIZE), dtype=torch.uint8)
prepared = preprocess(images)
print(f"two CIFAR-sized uint8 images preprocessed: {tuple(prepared.shape)}, {prepared.dtype}")
area_factor = (prepared.shape[-1] / CIFAR_SIZE) ** 2
print(f"pixels per image: x{area_factor:.0f}")


# %%
# The methods on ``resnet18``
# ---------------------------
# The fine-tuning page's ``setup``, for this network. Its head is ``fc``. From scratch
# is full fine-tuning with ``weights=None``: the same network, untrained. For the linear
# probe, every weight is frozen before the new head is attached, which then trains
# alone. For lower early rates, the stem (``conv1`` and ``bn1``) and the four stages
# ``layer1`` to ``layer4`` each get a group, with the ratios ``EARLY_LR_FACTORS``: two
# more groups than the small network's three stages, so two more ratios (a second 0.1,
# and 0.6), not chosen here.
def sgd(params, lr):
    return torch.optim.SGD(params, lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


def setup(method, lr, weights=None):
    """The model and its optimizer for one method; ``weights=None``: no download."""
    model = resnet18(weights=weights)
    if method == "linear probe":
        model.requires_grad_(False)
    model.fc = nn.Linear(model.fc.in_features, N_CLASSES)
    if method == "lower early rates":
        stem = nn.ModuleList([model.conv1, model.bn1])
        stages = [stem, model.layer1, model.layer2, model.layer3, model.layer4]
        groups = [
            {"params": stage.parameters(), "lr": lr * factor}
            for stage, factor in zip(stages, EARLY_LR_FACTORS, strict=True)
        ]
        groups.append({"params": model.fc.parameters(), "lr": lr})
        return model, sgd(groups, lr)
    return model, sgd([p for p in model.parameters() if p.requires_grad], lr)


for method in ("linear probe", "full fine-tuning", "lower early rates"):
    model, optimizer = setup(method, lr=1.0)
    in_groups = [p for group in optimizer.param_groups for p in group["params"]]
    n_trained = sum(p.numel() for p in in_groups)
    relative = ", ".join(f"{group['lr']:g}" for group in optimizer.param_groups)
    print(
        f"{method:>17}: {n_trained:>10,} parameters trained; rates relative to the peak {relative}"
    )
    if method == "lower early rates":
        once = len(in_groups) == len({id(p) for p in in_groups})
        check(
            once and {id(p) for p in in_groups} == {id(p) for p in model.parameters()},
            "the groups hold every parameter of resnet18, each once",
        )
    if method == "linear probe":
        n_fc = sum(p.numel() for p in model.fc.parameters())
        check(n_trained == n_fc, "the linear probe trains the new head alone")

# %%
# Training
# --------
# The block below, which the build does not run as it downloads the weights, runs after
# :doc:`plot_fine_tuning` and then this page, their cells pasted into the same notebook
# session (not ``%run``, which gives each script its own globals): it uses that page's
# ``train``, ``score``, images and settings, and they look ``to_input`` up there. The
# rates chosen there, for a small network pretrained on animals at 32 pixels, say little
# of where this one's best rate lies (its size is printed above): choose again on
# validation, from a grid that reaches lower, such as ``RESNET_PEAK_RATES``, and flag a
# rate kept at its edge, as that page does. With the factor printed above in pixels per
# image and a far larger network, this is work for a GPU, to which ``train`` and
# ``score`` would have to move the model, each batch and its labels (as written, they
# use the CPU). For LoRA, freeze, then ``add_lora`` of :doc:`plot_low_rank_adapters`
# (imported from :mod:`pytorch_examples.adapters`), then the new head: the order that
# page uses on this network, checking that only the adapters and the head train; and
# train with the whole model as ``frozen``, so that batch normalization keeps its
# running statistics.
#
# .. code-block:: python
#
#    to_input = weights.transforms()  # train() and score() call to_input
#    assert train.__globals__["to_input"] is to_input, "paste into the same session"
#    method = "full fine-tuning"
#    for lr in RESNET_PEAK_RATES:
#        model, optimizer = setup(method, lr, weights=weights)  # downloads, the first time
#        frozen = model if method == "linear probe" else None  # keeps batch-norm statistics
#        settings = (TARGET_EPOCHS, TARGET_BATCH_SIZE, frozen)
#        train(model, optimizer, target_images, target_labels, *settings)
#        print(lr, score(model, val_images, val_labels, SCORE_BATCH_SIZE).accuracy)
