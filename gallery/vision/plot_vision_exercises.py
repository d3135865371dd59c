r"""
Exercises: vision
=================

Five exercises on this section's pages, from a single line to a function you write
whole. Each leaves a function blank: its body is ``raise NotImplementedError``, and the
comment above it says what to write. Replace that line with your code and run the
cell below it, which checks your function on inputs you have not seen (its own layers,
small image batches and logits; no CIFAR-10 image is needed) and prints one line:
``passed``, ``not done yet``, or what went wrong (the input, the value expected, the
value your function returned, the tolerance, and often the mistake that gives that
value).

Stuck? ``ex.NAME.hint()`` prints a hint; on the site, the *Hint* and *Solution* boxes
below each check open when clicked. Try first: the check tells you more than the
solution does.
"""

# %%
# Setup
# -----
import torch

from pytorch_examples.exercises import vision as ex

# %%
# 1. How large is the output?
# ---------------------------
# *Practises* :doc:`convolution and pooling <plot_convolution_layers>`. A layer slides
# a ``kernel`` x ``kernel`` window over an input of ``size`` x ``size`` pixels padded
# with ``padding`` zeros on every side, in steps of ``stride``. Return the number of
# positions along one side of the output, as an ``int``. The check compares it with
# what ``nn.Conv2d`` produces for many settings.


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    # Return the output's side length for this window, stride and padding.
    raise NotImplementedError


# %%
ex.conv_output_size.check(conv_output_size)

# %%
# .. exercise:: vision.conv_output_size

# %%
# 2. How many parameters?
# -----------------------
# *Practises* :doc:`the weights a convolution shares <plot_convolution_layers>`. Return
# the number of parameters of ``nn.Conv2d(in_channels, out_channels, kernel,
# bias=bias)``, from a formula, without building the layer.


def conv_parameter_count(in_channels: int, out_channels: int, kernel: int, bias: bool) -> int:
    # Return the weights plus, if bias, the biases.
    raise NotImplementedError


# %%
ex.conv_parameter_count.check(conv_parameter_count)

# %%
# .. exercise:: vision.conv_parameter_count

# %%
# 3. Standardize with the training statistics
# -------------------------------------------
# *Practises* :doc:`standardizing each colour channel <plot_cifar10_data>`. Given
# ``uint8`` training images and other ``uint8`` images, both ``(n, channels, height,
# width)``, scale the other images to ``float32`` in :math:`[0, 1]`, then standardize
# each channel with the mean and standard deviation of that channel over all training
# images (scaled alike) and positions. The other images' own statistics must not be used:
# the check gives them a different mean on purpose.


def standardize_channels(train_images: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    # Return (images / 255 - mean) / std, with per-channel mean and std of train_images / 255.
    raise NotImplementedError


# %%
ex.standardize_channels.check(standardize_channels)

# %%
# .. exercise:: vision.standardize_channels

# %%
# 4. Random crops with reflection padding, and flips
# --------------------------------------------------
# *Practises* :doc:`augmentation in batches <plot_cifar10_data>`, with another padding.
# Pad each image of ``images`` (``(n, channels, height, width)``) by ``padding``
# pixels on every side *by reflection*, mirroring the image at its border
# (``mode="reflect"`` of ``torch.nn.functional.pad``), so that the crop shows no black
# edge. Cut a window of the original size at a random offset, the vertical and the
# horizontal one drawn independently for each image, each from 0 to ``2 * padding``,
# and mirror it left to right with probability one half. Draw every random number from
# ``generator``. The check gives images whose pixels are all different, so it can
# tell, for each output, which window it is and whether it was mirrored.


def random_crop_flip(
    images: torch.Tensor, padding: int, generator: torch.Generator
) -> torch.Tensor:
    # Return a batch of the same shape: a random window of each reflection-padded image,
    # maybe mirrored.
    raise NotImplementedError


# %%
ex.random_crop_flip.check(random_crop_flip)

# %%
# .. exercise:: vision.random_crop_flip

# %%
# 5. Top-k accuracy
# -----------------
# *Practises* reading :doc:`a classifier's logits <plot_cifar10_cnn>`. Return, as a
# float, the fraction of examples whose label is among the ``k`` classes with the
# largest logits; with ``k = 1`` it is the usual accuracy.


def top_k_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    # Return the share of rows whose label is among that row's k largest logits.
    raise NotImplementedError


# %%
ex.top_k_accuracy.check(top_k_accuracy)

# %%
# .. exercise:: vision.top_k_accuracy
