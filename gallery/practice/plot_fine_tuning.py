r"""
Fine-tuning a pretrained network
================================

A network trained on one task has learnt features that often serve another. This page
pretrains a small convolutional network on CIFAR-10's six animal classes, then adapts
it to the four vehicle classes from only a few labelled images of each, and compares
that with training the same network from scratch on the same few images. You will learn:

* how to replace a pretrained network's head, and what freezing its body means for
  the parameters and for batch normalization's running statistics;
* how to give early layers lower learning rates than late ones, with parameter groups;
* how a rule fixed in advance chooses on validation, before the test set is scored once;
* how the same code starts from torchvision's ImageNet weights, for readers online.

:doc:`plot_low_rank_adapters` adds low-rank adapters (LoRA) to the methods compared here.
"""

# %%
# Setup
# -----
# One shuffle of CIFAR-10's training images is cut per class: the target's labelled set
# is the first ``N_TARGET_PER_CLASS`` images of each vehicle; the validation set, which
# makes every choice, the next ``N_VAL_PER_CLASS``: many, so that the page can measure
# the methods precisely. A standard error goes as one over the square root of the
# number of images, so a validation set the labelled set's size would give errors about
# the factor printed below larger. The test images are scored once, at the end. Images
# are standardized with the source images' channel statistics, the pretrained network's
# own, as ImageNet's are torchvision's weights'. The authors set the widths, epochs and
# rates by hand, from validation runs this page does not show; the tests run it smaller.
import copy
import itertools
import math
from collections import OrderedDict

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import ResNet18_Weights

from pytorch_examples.claims import check
from pytorch_examples.comparison import accuracy_difference, mean_standard_error
from pytorch_examples.data.cifar10 import (
    CLASSES,
    channel_stats,
    load_cifar10,
    normalize,
    random_crop_flip,
)
from pytorch_examples.evaluation import evaluate
from pytorch_examples.results import results_dir

SEED = 0
SOURCE_CLASSES = ("bird", "cat", "deer", "dog", "frog", "horse")
TARGET_CLASSES = ("airplane", "automobile", "ship", "truck")
N_SOURCE_PER_CLASS = None  # source images per class for pretraining; None: all
N_TARGET_PER_CLASS = 100
N_VAL_PER_CLASS = 500
WIDTHS = (16, 32, 64)  # channels of the three stages
CROP_PADDING = 2
PRETRAIN_EPOCHS = 3
PRETRAIN_BATCH_SIZE = 128
PRETRAIN_LR = 0.2  # peak of a one-cycle schedule
TARGET_EPOCHS = 20
TARGET_BATCH_SIZE = 50
TARGET_LR = 0.05  # peak learning rate on the target task, for every method
EARLY_LR_FACTORS = (0.1, 0.3, 1.0)  # multiply TARGET_LR for stages 1, 2 and 3
EVAL_EVERY = 4  # epochs between validation scores on the target task
SAVED_FILE = "fine_tuning.pt"  # read by plot_low_rank_adapters.py

torch.manual_seed(SEED)  # the split, the weights, the shuffles and the augmentation
data = load_cifar10()
print(data.describe_source())


def pick(split, class_names, start=0, stop=None, order=None):
    """Indices, images and labels (0, 1, ...) of the named classes: ``start:stop`` of each."""
    order = torch.arange(len(split.labels)) if order is None else order
    index = [order[split.labels[order] == CLASSES.index(name)][start:stop] for name in class_names]
    labels = torch.cat([torch.full((len(i),), k) for k, i in enumerate(index)])
    return torch.cat(index), split.images[torch.cat(index)], labels


order = torch.randperm(len(data.train.labels))  # one shuffle of the training images
n_target, n_val = N_TARGET_PER_CLASS, N_VAL_PER_CLASS
source = pick(data.train, SOURCE_CLASSES, 0, N_SOURCE_PER_CLASS, order)
target_index, target_images, target_labels = pick(data.train, TARGET_CLASSES, 0, n_target, order)
val_index, val_images, val_labels = pick(
    data.train, TARGET_CLASSES, n_target, n_target + n_val, order
)
test_index, test_images, test_labels = pick(data.test, TARGET_CLASSES)
print(
    f"source {len(source[0])}, target {len(target_labels)}, "
    f"validation {len(val_labels)}, test {len(test_labels)} images"
)
se_factor = math.sqrt(len(val_labels) / len(target_labels))
print(f"standard errors with a validation set the labelled set's size: about x{se_factor:.1f}")
mean, std = channel_stats(source[1])  # the pretrained network's own normalization


def to_input(images):
    return normalize(images, mean, std).contiguous(memory_format=torch.channels_last)


# %%
# The network and pretraining
# ---------------------------
# The network of :doc:`../vision/plot_cifar10_cnn`, narrower, in two named parts: a
# ``body`` of three stages that turns an image into ``WIDTHS[-1]`` features, and a
# linear ``head`` that turns those into class scores. The body is what transfers; the
# head belongs to its classes and is replaced. Pretraining follows the vision page in
# brief: SGD with Nesterov momentum and a one-cycle schedule, on augmented images.
def conv_bn_relu(in_channels, out_channels, pool):
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
    pooling = [nn.MaxPool2d(2)] if pool else []
    return [conv, *pooling, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


def new_model(n_classes):
    stages = [nn.Sequential(*conv_bn_relu(3, WIDTHS[0], pool=True))]
    for in_channels, width in itertools.pairwise(WIDTHS):
        layers = conv_bn_relu(in_channels, width, pool=True) + conv_bn_relu(width, width, False)
        stages.append(nn.Sequential(*layers))
    body = nn.Sequential(*stages, nn.AdaptiveMaxPool2d(1), nn.Flatten())
    model = nn.Sequential(OrderedDict(body=body, head=nn.Linear(WIDTHS[-1], n_classes)))
    return model.to(memory_format=torch.channels_last)


def sgd(params, lr):
    # OneCycleLR (cycle_momentum=True) replaces this momentum: 0.95 down to 0.85 and back
    return torch.optim.SGD(params, lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


def train(model, optimizer, images, labels, epochs, batch_size, frozen=None, on_epoch=None):
    """One-cycle SGD on augmented images; a ``frozen`` module stays in evaluation mode."""
    steps_per_epoch = len(labels) // batch_size
    peaks = [group["lr"] for group in optimizer.param_groups]
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, peaks, total_steps=epochs * steps_per_epoch, pct_start=0.25
    )
    for epoch in range(1, epochs + 1):
        model.train()
        if frozen is not None:
            frozen.eval()  # requires_grad_(False) does not stop batch-norm statistics
        order = torch.randperm(len(labels))
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            batch = to_input(random_crop_flip(images[index], CROP_PADDING))
            loss = F.cross_entropy(model(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if on_epoch is not None:
            on_epoch(epoch)
    return model


def score(model, images, labels, batch_size=1000):  # smaller for larger images
    return evaluate(model, images, labels, batch_size=batch_size, prepare=to_input)


pretrained = new_model(len(SOURCE_CLASSES))
optimizer = sgd(pretrained.parameters(), PRETRAIN_LR)
train(pretrained, optimizer, *source[1:], PRETRAIN_EPOCHS, PRETRAIN_BATCH_SIZE)

# %%
# Four ways to learn the target task
# ----------------------------------
# Each method gets the same images, epochs and peak rate ``TARGET_LR`` (lower early
# rates: for its last stage and head); they differ in what starts pretrained and what
# trains. *From scratch*: a new network. *Linear probe*: the pretrained body frozen, and
# kept in evaluation mode so that batch normalization keeps the pretrained running
# statistics; a new head trains on its features. *Full fine-tuning*: every weight
# trains, from the pretrained ones. *Lower early rates*: the same, with a parameter
# group per stage whose rate is ``TARGET_LR`` times ``EARLY_LR_FACTORS``, on the view
# that early filters (edges, colours) transfer best and should move least. Validation
# accuracy is recorded every ``EVAL_EVERY`` epochs. One rate and one length for all is a
# simplification: it cuts short a method still improving at the last epoch, and a rate
# and length chosen per method on validation could move the gaps below.
METHODS = ("from scratch", "linear probe", "full fine-tuning", "lower early rates")


def setup(method):
    """The model, its optimizer and its frozen part (or None) for one method."""
    if method == "from scratch":
        model = new_model(len(TARGET_CLASSES))
        return model, sgd(model.parameters(), TARGET_LR), None
    model = copy.deepcopy(pretrained)
    model.head = nn.Linear(WIDTHS[-1], len(TARGET_CLASSES))  # torchvision: model.fc = ...
    if method == "full fine-tuning":
        return model, sgd(model.parameters(), TARGET_LR), None
    if method == "lower early rates":
        stages = [stage for stage in model.body if isinstance(stage, nn.Sequential)]
        groups = [
            {"params": stage.parameters(), "lr": TARGET_LR * factor}
            for stage, factor in zip(stages, EARLY_LR_FACTORS, strict=True)
        ]
        groups.append({"params": model.head.parameters(), "lr": TARGET_LR})
        return model, sgd(groups, TARGET_LR), None
    model.body.requires_grad_(False)  # the linear probe
    return model, sgd(model.head.parameters(), TARGET_LR), model.body


trained, n_trainable, curves = {}, {}, {}
for method in METHODS:
    model, optimizer, frozen = setup(method)
    n_trainable[method] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    rates = ", ".join(f"{group['lr']:g}" for group in optimizer.param_groups)
    print(f"{method:>17}: {n_trainable[method]:>6,} trainable parameters; peak rates {rates}")
    curves[method] = curve = []

    def record(epoch, model=model, curve=curve):
        if epoch % EVAL_EVERY == 0 or epoch == TARGET_EPOCHS:
            curve.append((epoch, score(model, val_images, val_labels)))

    settings = (TARGET_EPOCHS, TARGET_BATCH_SIZE, frozen, record)
    trained[method] = train(model, optimizer, target_images, target_labels, *settings)


# %%
# Choosing on validation
# ----------------------
# The rule, fixed before the comparison: among the pretrained methods within noise of
# the most accurate one on validation, keep the one that trains the fewest parameters
# (of equals, the first listed). Each method is compared with the chosen one on the
# same validation images, with :func:`~pytorch_examples.comparison.accuracy_difference`.
# The standard errors cover the sampling of the validation images only, not retraining
# with another seed, which was not measured.
def choose(predictions, n_trainable, labels):
    candidates = [method for method in predictions if method != "from scratch"]
    best = max(candidates, key=lambda method: (predictions[method] == labels).float().mean())
    tied = [
        method
        for method in candidates
        if accuracy_difference(predictions[method], predictions[best], labels).within_noise()
    ]
    return min(tied, key=n_trainable.get)


val_predictions = {method: curves[method][-1][1].predictions for method in METHODS}
val_correct = {method: (val_predictions[method] == val_labels).float() for method in METHODS}
for method in METHODS:
    print(
        f"{method:>17}: validation accuracy {val_correct[method].mean():.4f} "
        f"± {mean_standard_error(val_correct[method]):.4f}"
    )
chosen = choose(val_predictions, n_trainable, val_labels)
print(f"chosen: {chosen}")
gaps = {
    method: accuracy_difference(val_predictions[method], val_predictions[chosen], val_labels)
    for method in METHODS
    if method != chosen
}
for method, gap in gaps.items():
    print(gap.describe(method, chosen))
check(
    gaps["from scratch"].a_lower(), "training from scratch is less accurate than the chosen method"
)
check(
    chosen != "linear probe" and gaps["linear probe"].a_lower(),
    "the linear probe is less accurate than the chosen method",
)
check(
    chosen == "full fine-tuning" and gaps["lower early rates"].a_lower(),
    "lower early rates are less accurate than full fine-tuning on validation",
)

# %%
# Pretraining pays on these few labels when its features are adapted: training from
# scratch and the linear probe (a new head on the frozen animal features) are both less
# accurate than the chosen method. So are lower early rates than full fine-tuning, with
# this one seed and peak rate: perhaps early filters need to move more, for vehicles,
# than those rates let them in these epochs. Validation accuracy as each trains:
fig, ax = plt.subplots(figsize=(6, 4))
for method in METHODS:
    epochs, scores = zip(*curves[method], strict=True)
    ax.plot(epochs, [s.accuracy for s in scores], marker=".", label=method)
ax.set(xlabel="epoch on the target task", ylabel="validation accuracy")
ax.grid(True, alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# :doc:`plot_low_rank_adapters` trains a fifth method on the same terms and pairs it
# with these on the same validation images. It gets the pretrained network, the splits,
# the settings, each method's validation predictions and size, and the generator's
# state; nothing of the test set, which it has no need of.
saved = results_dir() / SAVED_FILE
saved.parent.mkdir(parents=True, exist_ok=True)
target_settings = {"epochs": TARGET_EPOCHS, "batch_size": TARGET_BATCH_SIZE, "lr": TARGET_LR}
torch.save(
    {
        "pretrained": pretrained,
        "mean": mean,
        "std": std,
        "splits": {"target": (target_index, target_labels), "val": (val_index, val_labels)},
        "settings": {**target_settings, "crop_padding": CROP_PADDING},
        "val_predictions": val_predictions,
        "n_trainable": n_trainable,
        "target_classes": TARGET_CLASSES,
        "chosen": chosen,
        "rng_state": torch.get_rng_state(),  # after the four methods' draws
    },
    saved,
)
print(f"saved to {saved.name}")

# %%
# The test set, once
# ------------------
# The pretrained network is scored on the test images of the six animals, to show what
# its body learnt; the chosen method, which starts from it, and training from scratch on
# those of the four vehicles. These are the only times this page touches test images.
source_accuracy = score(pretrained, *pick(data.test, SOURCE_CLASSES)[1:]).accuracy
print(f"pretrained: accuracy {source_accuracy:.4f} on the source task's test images")
test_predictions = {}
for method in (chosen, "from scratch"):
    test_score = score(trained[method], test_images, test_labels)
    test_predictions[method] = test_score.predictions
    print(f"test accuracy, {method}: {test_score.accuracy:.4f}")
test_gap = accuracy_difference(
    test_predictions["from scratch"], test_predictions[chosen], test_labels
)
print(test_gap.describe("from scratch", chosen))
check(test_gap.a_lower(), "on the test images too, training from scratch is less accurate")

# %%
# Starting from torchvision's weights
# -----------------------------------
# Where PyTorch's servers can be reached, the same recipe starts from a network
# pretrained on ImageNet. Its weights come with their own preprocessing, printed below
# (no download needed): resize, crop the centre, standardize with ImageNet's statistics.
# It replaces ``to_input``, on the ``uint8`` CIFAR-10 images, which it enlarges, so
# ``score`` needs a smaller batch: activations grow with the image's area. The head of
# ``resnet18`` is ``fc``; its stages, for parameter groups, are ``layer1`` to ``layer4``.
# The block below, which the build does not run as it downloads the weights, is the
# linear probe; full fine-tuning drops ``requires_grad_(False)`` and ``frozen=``, and
# gives the optimizer every parameter.
weights = ResNet18_Weights.DEFAULT
print(f"{weights}: {weights.transforms()}")
print(f"preprocessed: {tuple(weights.transforms()(target_images[:2]).shape)}")

# %%
# .. code-block:: python
#
#    from torchvision.models import resnet18
#
#    model = resnet18(weights=weights)  # downloads the weights on first use
#    model.requires_grad_(False)  # full fine-tuning: without this line
#    model.fc = nn.Linear(model.fc.in_features, len(TARGET_CLASSES))
#    optimizer = sgd(model.fc.parameters(), TARGET_LR)  # full: model.parameters()
#    to_input = weights.transforms()  # train() and score() call to_input
#    settings = (TARGET_EPOCHS, TARGET_BATCH_SIZE)
#    train(model, optimizer, target_images, target_labels, *settings, frozen=model)
#    print(score(model, val_images, val_labels, batch_size=100).accuracy)
