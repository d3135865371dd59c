r"""
Convolution, pooling and batch normalization
============================================

Before its last pooling and its linear layer, the network that learns CIFAR-10 on the
next page is a stack of convolution, max pooling, batch normalization and ReLU. This
page takes the first three apart on CIFAR-10 photos, writes each out with plain tensor
operations and checks it against PyTorch's layer. You will learn:

* that a convolution is one small matrix product repeated at every position, and why
  it needs so few weights;
* that it finds a pattern wherever the pattern is: shift the image and the output
  shifts with it;
* how max pooling halves the image, and how pooling between convolutions widens the
  region of the image that each later output sees;
* what batch normalization computes in training and in evaluation mode, and why a
  convolution just before it needs no bias.

ReLU has its own page, :doc:`/auto_examples/basics/plot_activation_functions`.
"""

# %%
# Setup
# -----
# One photo from the CIFAR-10 training images, as floats in :math:`[0, 1]`, loaded
# as in :doc:`plot_cifar10_data`.
import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.cifar10 import CLASSES, load_cifar10
from pytorch_examples.evaluation import eval_mode
from pytorch_examples.reporting import format_table

SEED = 0
SHOWN_CLASS = "truck"
N_FILTERS = 8
SHIFT = 4  # pixels to the right
BATCH_SIZE = 64
TOLERANCE = 1e-5  # float32 sums taken in a different order differ in the last bits
TINY_BATCH_VALUES = 4  # per channel, to tell n from n - 1

torch.manual_seed(SEED)
data = load_cifar10()
index = int(torch.nonzero(data.train.labels == CLASSES.index(SHOWN_CLASS))[0])
image = data.train.images[index : index + 1].float() / 255  # a batch of one
height, width = image.shape[-2:]
print(f"the first {SHOWN_CLASS} of the training images: shape {tuple(image.shape)}")

# %%
# A convolution is a matrix product at every position
# ----------------------------------------------------
# A 3 x 3 convolution on a colour image looks at 3 x 3 pixels of 3 channels, 27
# numbers, around each position. :func:`~torch.nn.functional.unfold` lays out those 27
# numbers for all 32 x 32 positions as the columns of one matrix (``padding=1`` adds
# a border of zeros, so the edge pixels have neighbours too). Each filter is a row of
# 27 weights, and the whole layer is one matrix product.
conv = nn.Conv2d(3, N_FILTERS, kernel_size=3, padding=1, bias=False)
columns = F.unfold(image, kernel_size=3, padding=1)
by_hand = (conv.weight.view(N_FILTERS, -1) @ columns).view(1, N_FILTERS, height, width)
out = conv(image)
print(f"unfolded image: {tuple(columns.shape)}, filters as rows: {N_FILTERS} x {columns.shape[1]}")
check(
    torch.allclose(by_hand, out, atol=TOLERANCE),
    "the matrix product equals nn.Conv2d",
)

# %%
# The same 27 weights per filter are used at all 1,024 positions. A fully connected
# layer from the same 3 x 32 x 32 input to the same 8 x 32 x 32 output would need a
# weight for every pair of input and output numbers:
n_conv = conv.weight.numel()
n_dense = image.numel() * by_hand.numel()
print(f"weights: convolution {n_conv:,}; fully connected {n_dense:,} ({n_dense // n_conv:,} x)")

# %%
# Two filters chosen by hand show what a filter does. Like ``nn.Conv2d``,
# :func:`~torch.nn.functional.conv2d` does not flip the filter: it multiplies each
# weight with the pixel at the same place in the window. The Sobel filter below weighs
# the column right of a pixel against the column to its left, so it responds at
# vertical edges; its transpose finds horizontal edges. The figure shows the size of
# each response on the grey image. Where the picture is bright at a side, the border
# lights up too: a bright pixel next to the black zero padding is an edge to the filter.
sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
edge_filters = torch.stack([sobel, sobel.T]).unsqueeze(1)  # 2 filters, 1 channel
grey = image.mean(dim=1, keepdim=True)
edges = F.conv2d(grey, edge_filters, padding=1)
fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
axes[0].imshow(image[0].permute(1, 2, 0).numpy())
axes[0].set_title(SHOWN_CLASS)
titles = ("vertical edges", "horizontal edges")
for ax, response, title in zip(axes[1:], edges[0], titles, strict=True):
    ax.imshow(response.abs().numpy(), cmap="gray")
    ax.set_title(title)
for ax in axes:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# The same filter at every position
# ---------------------------------
# Because every position uses the same weights, moving the image moves the output by
# the same amount and, away from the borders, changes nothing else. The image is
# shifted ``SHIFT`` pixels to the right, with zeros filling in on the left. Compared
# are the output columns whose 3 x 3 neighbourhoods lie inside the picture both times;
# at the edges the zero border differs.
shifted = torch.zeros_like(image)
shifted[..., SHIFT:] = image[..., :-SHIFT]
out_shifted = conv(shifted)
inside_both = out_shifted[..., SHIFT + 1 : width - 1]  # windows clear of both zero borders
check(
    torch.allclose(inside_both, out[..., 1 : width - 1 - SHIFT], atol=TOLERANCE),
    "shifting the image shifts the convolution's output by the same amount",
)

# %%
# Max pooling and what each output sees
# -------------------------------------
# :class:`~torch.nn.MaxPool2d` with a 2 x 2 window keeps the largest of each four
# neighbouring values, so the height and the width halve. Written out, it is a
# reshape into 2 x 2 blocks and a maximum over each block.
pool = nn.MaxPool2d(2)
blocks = out.view(1, N_FILTERS, height // 2, 2, width // 2, 2)
check(torch.equal(blocks.amax(dim=(3, 5)), pool(out)), "the block maximum equals nn.MaxPool2d")
print(f"before pooling {tuple(out.shape)}, after {tuple(pool(out).shape)}")

# %%
# The *receptive field* of an output is the patch of input pixels it depends on. A
# 3 x 3 convolution sees 3 x 3 pixels; a second one on top sees 3 x 3 of those
# outputs, 5 x 5 pixels. After pooling, neighbouring outputs lie two pixels apart, so
# each step of the next filter spans two pixels, and each pooling doubles the step
# again: a 3 x 3 convolution widens the field by 2 pixels before any pooling, by 4
# after one, 8 after two, 16 after three, and a 2 x 2 pooling widens it by one step.
# The gradient measures the field: the input pixels with a nonzero gradient of the
# centre output are the ones it depends on. A maximum's gradient reaches only the
# largest input of its window, so average pooling (the same windows) stands in for
# max pooling here, and the weights are positive so that no gradients cancel. The
# stack has the next page's layer order, on an input larger than a CIFAR-10 image so
# that the border cuts no field off.
LAYER_ORDER = ("conv", "pool", "conv", "pool", "conv", "conv", "pool", "conv")


def receptive_field(layers: nn.Sequential, size: int = 96) -> int:
    """Width in pixels of the input patch that the centre output depends on."""
    pixels = torch.zeros(1, 1, size, size, requires_grad=True)
    output = layers(pixels)
    output[0, 0, output.shape[2] // 2, output.shape[3] // 2].backward()
    columns_used = torch.nonzero(pixels.grad[0, 0].abs().sum(dim=0))
    return int(columns_used.max() - columns_used.min() + 1)


def all_ones_conv() -> nn.Conv2d:
    conv = nn.Conv2d(1, 1, kernel_size=3, padding=1, bias=False)
    nn.init.constant_(conv.weight, 1.0)
    return conv


two_convolutions = receptive_field(nn.Sequential(all_ones_conv(), all_ones_conv()))
print(f"two convolutions, no pooling: each output sees {two_convolutions} x {two_convolutions}")
stack, fields = [], []
for kind in LAYER_ORDER:
    stack.append(all_ones_conv() if kind == "conv" else nn.AvgPool2d(2))
    fields.append(receptive_field(nn.Sequential(*stack)))
    print(f"layer {len(stack)}, {kind:>4}: each output sees {fields[-1]} x {fields[-1]} pixels")
check(
    two_convolutions == 5 and fields[:3] == [3, 4, 8],
    "after pooling, a second convolution sees 8 x 8 pixels; without, 5 x 5",
)
check(fields[-1] > width, "the last convolution's field is wider than a 32 x 32 image")

# %%
# The squares below draw the width of each convolution's receptive field, centred on
# the middle of the image; the last one is wider than the image.
fig, ax = plt.subplots(figsize=(6.5, 4.2))
ax.imshow(image[0].permute(1, 2, 0).numpy(), extent=(0, width, height, 0))
conv_fields = [field for kind, field in zip(LAYER_ORDER, fields, strict=True) if kind == "conv"]
for number, field in enumerate(conv_fields, start=1):
    corner = (width / 2 - field / 2, height / 2 - field / 2)
    label = f"convolution {number}: {field} px"
    square = plt.Rectangle(corner, field, field, fill=False, lw=2, color=f"C{number}")
    square.set_label(label)
    ax.add_patch(square)
ax.set(xlim=(-8, 40), ylim=(40, -8), xlabel="pixels", title="receptive fields")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
fig.tight_layout()
plt.show()

# %%
# Batch normalization
# -------------------
# In training mode, :class:`~torch.nn.BatchNorm2d` standardizes each channel with the
# mean and variance of that channel over the whole batch and all positions, then
# scales and shifts it by two learned numbers per channel, :math:`\gamma` and
# :math:`\beta`:
#
# .. math::
#
#    y = \gamma \, \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta .
#
# Here :math:`\sigma_c^2` is the variance that divides by the number of values,
# :math:`n`. A convolution's outputs can have any mean and spread, and these change
# whenever its weights change; after the normalization every channel has mean 0 and
# standard deviation 1 (before :math:`\gamma` and :math:`\beta`, and up to the small
# :math:`\epsilon`), whatever the layer before did. The check writes the formula out
# for a random batch of training images.
batch = data.train.images[torch.randperm(len(data.train.labels))[:BATCH_SIZE]].float() / 255
features = conv(batch)
norm = nn.BatchNorm2d(N_FILTERS)
with torch.no_grad():  # random gamma and beta, so that the check includes them
    norm.weight.uniform_(0.5, 2.0)
    norm.bias.uniform_(-1.0, 1.0)
mean = features.mean(dim=(0, 2, 3), keepdim=True)
variance = features.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
gamma, beta = norm.weight.view(1, -1, 1, 1), norm.bias.view(1, -1, 1, 1)
standardized = (features - mean) / torch.sqrt(variance + norm.eps)
normalized = norm(features)  # a training batch: it also moves the running statistics
check(
    torch.allclose(gamma * standardized + beta, normalized, atol=TOLERANCE),
    "the formula equals nn.BatchNorm2d in training mode",
)
after_mean = standardized.mean(dim=(0, 2, 3))
after_std = standardized.std(dim=(0, 2, 3), unbiased=False)
statistics = torch.stack([mean.flatten(), variance.sqrt().flatten(), after_mean, after_std], 1)
rows = [[channel, *values] for channel, values in enumerate(statistics.tolist())]
print(format_table(["channel", "mean", "std", "mean after", "std after"], rows, digits=2))
check(
    after_mean.abs().max() < TOLERANCE and (after_std - 1).abs().max() < 1e-3,
    "each standardized channel has mean 0 and std 1 (to 0.001)",
)

# %%
# In evaluation mode a prediction must not depend on the other images in the batch,
# so the layer uses *running* averages of the means and variances it saw in training.
# Each training batch moves them a fraction ``momentum`` = 0.1 of the way from where
# they are (at first 0 and 1), and the running variance divides by :math:`n - 1`
# instead of :math:`n`. With 65,536 values per channel above, the two variances are
# too close to tell apart at this page's tolerance, so a fresh layer is shown a batch
# of ``TINY_BATCH_VALUES`` values per channel, where the two differ clearly.
n_values = features.numel() // N_FILTERS
print(f"values per channel in the batch above: {n_values:,}")
check(
    torch.allclose(norm.running_mean, 0.1 * mean.flatten(), atol=TOLERANCE),
    "one training batch moved the running mean a tenth of the way from 0",
)
tiny_batch = torch.randn(TINY_BATCH_VALUES, N_FILTERS, 1, 1)
fresh = nn.BatchNorm2d(N_FILTERS)
fresh(tiny_batch)
variances = {
    unbiased: tiny_batch.var(dim=(0, 2, 3), unbiased=unbiased) for unbiased in (False, True)
}
moved = {unbiased: 0.9 * 1.0 + 0.1 * v for unbiased, v in variances.items()}
by_n, by_n_minus_1 = variances[False][0], variances[True][0]
print(f"channel 0: variance / n {by_n:.4f}, / (n - 1) {by_n_minus_1:.4f}")
print(f"running variance {fresh.running_var[0]:.4f} = 0.9 + 0.1 x {by_n_minus_1:.4f}")
check(
    torch.allclose(fresh.running_var, moved[True], atol=TOLERANCE)
    and not torch.allclose(fresh.running_var, moved[False], atol=TOLERANCE),
    "the running variance moves toward the variance divided by n - 1, not by n",
)
running_mean, running_var = norm.running_mean.view(1, -1, 1, 1), norm.running_var.view(1, -1, 1, 1)
with eval_mode(norm):  # training mode again after the block
    in_eval_mode = norm(features)
by_formula = gamma * (features - running_mean) / torch.sqrt(running_var + norm.eps) + beta
check(
    torch.allclose(by_formula, in_eval_mode, atol=TOLERANCE),
    "in evaluation mode the layer uses the running statistics",
)

# %%
# A bias in the convolution adds one constant per channel, and the normalization
# subtracts the channel's mean, which takes it straight back out; :math:`\beta`
# supplies the shift instead. (In evaluation mode the running mean absorbs the bias as
# training goes on.) Max pooling between the two, as in three stages of the next page's
# network, changes nothing: the largest of :math:`x + b` is the largest :math:`x`, plus
# :math:`b`. Below, the same filters with and without a random bias give the same
# normalized output, directly and through pooling, up to float32 rounding, within
# ``TOLERANCE``. The size of that absolute difference comes mainly from roundings of two
# sizes. Each convolution
# output plus the bias is rounded to float32 at its own size, an error of up to half
# the spacing of float32 numbers there, largest at the largest sum, which normalization
# multiplies by :math:`\gamma/\sigma`. And each normalized output is itself rounded at
# its own size, with and without the bias, where the spacing is that of the largest
# normalized output. The output prints the largest sum and its spacing, the largest
# :math:`\gamma/\sigma`, the largest normalized output and its spacing, and the
# difference in units of the two errors together (the first spacing times
# :math:`\gamma/\sigma`, plus the second), at most two: subtracting the mean and
# computing the batch statistics, with and without the bias, add roundings of the same
# sizes, hence an allowance of two units rather than one. So the convolutions before
# batch normalization are built with ``bias=False``.
with_bias = nn.Conv2d(3, N_FILTERS, kernel_size=3, padding=1)
with torch.no_grad():
    with_bias.weight.copy_(conv.weight)
    with_bias.bias.uniform_(-1.0, 1.0)
inputs = {  # the batch norm's input with and without the bias
    "convolution, batch norm": (with_bias(batch), features),
    "convolution, pooling, batch norm": (pool(with_bias(batch)), pool(features)),
}
differences, units = {}, {}
for name, (biased, unbiased) in inputs.items():
    differences[name] = norm(biased) - norm(unbiased)
    largest_sum, largest_output = biased.abs().max(), norm(unbiased).abs().max()
    spacing, output_spacing = (
        torch.nextafter(size, torch.tensor(torch.inf)) - size
        for size in (largest_sum, largest_output)
    )
    sigma = unbiased.var(dim=(0, 2, 3), keepdim=True, unbiased=False).add(norm.eps).sqrt()
    gain = (gamma / sigma).max()
    error = differences[name].abs().max()
    units[name] = (error / (spacing * gain + output_spacing)).item()
    print(
        f"{name}: largest difference the bias makes {error:.1e}\n"
        f"  largest sum {largest_sum:.1f}, float32 spacing there {spacing:.1e}; "
        f"largest gamma/sigma {gain:.1f}\n"
        f"  largest normalized output {largest_output:.1f}, float32 spacing there "
        f"{output_spacing:.1e}\n"
        f"  difference / (spacing at the sum x gamma/sigma + spacing at the output): "
        f"{units[name]:.2f} units"
    )
check(
    all(unit <= 2 for unit in units.values()),
    "the difference is at most two units of the input's rounding times gamma/sigma plus "
    "the output's rounding",
)
check(
    all(difference.abs().max() < TOLERANCE for difference in differences.values()),
    "a bias before batch normalization changes nothing beyond rounding (within TOLERANCE)",
)
