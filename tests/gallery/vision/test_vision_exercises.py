"""The vision exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from exercise_mistakes import mistake_tests
from pytorch_examples.data.cifar10 import random_crop_flip
from pytorch_examples.exercises import vision as ex


def size_with_true_division(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) / stride + 1


def size_padding_one_side(size, kernel, stride, padding):
    return (size + padding - kernel) // stride + 1


def size_rounded_up(size, kernel, stride, padding):
    return -(-(size + 2 * padding - kernel) // stride) + 1


def parameters_without_input_channels(in_channels, out_channels, kernel, bias):
    return out_channels * kernel * kernel + (out_channels if bias else 0)


def parameters_bias_always(in_channels, out_channels, kernel, bias):
    return out_channels * in_channels * kernel * kernel + out_channels


def standardize_with_own_statistics(train_images, images):
    scaled = images.float() / 255
    mean = scaled.mean(dim=(0, 2, 3), keepdim=True)
    return (scaled - mean) / scaled.std(dim=(0, 2, 3), keepdim=True)


def standardize_all_channels_alike(train_images, images):
    train = train_images.float() / 255
    return (images.float() / 255 - train.mean()) / train.std()


def standardize_per_pixel(train_images, images):
    train = train_images.float() / 255
    return (images.float() / 255 - train.mean(dim=0)) / train.std(dim=0)


def crop(images, padding, generator, *, mode="reflect", upper=None, same=False, batch=False):
    n, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4, mode=mode)
    upper = 2 * padding + 1 if upper is None else upper
    offsets = torch.randint(0, upper, (1 if batch else n, 1 if same else 2), generator=generator)
    offsets = offsets.expand(n, 2).tolist()
    pairs = zip(padded, offsets, strict=True)
    crops = torch.stack([p[:, dy : dy + height, dx : dx + width] for p, (dy, dx) in pairs])
    flips = torch.rand(n, generator=generator) < 0.5
    return torch.where(flips.view(n, 1, 1, 1), crops.flip(-1), crops)


def crop_with_zero_padding(images, padding, generator):
    return crop(images, padding, generator, mode="constant")


def crop_with_one_offset_for_both_axes(images, padding, generator):
    return crop(images, padding, generator, same=True)


def crop_with_one_offset_for_the_batch(images, padding, generator):
    return crop(images, padding, generator, batch=True)


def crop_all_alike(images, padding, generator):
    _, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4, mode="reflect")
    dy, dx = torch.randint(0, 2 * padding + 1, (2,), generator=generator).tolist()
    crops = padded[..., dy : dy + height, dx : dx + width]
    return crops.flip(-1) if torch.rand(1, generator=generator) < 0.5 else crops


def crop_with_exclusive_bound(images, padding, generator):
    return crop(images, padding, generator, upper=2 * padding)


def crop_flipping_upside_down(images, padding, generator):
    n, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4, mode="reflect")
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator).tolist()
    crops = [
        p[:, dy : dy + height, dx : dx + width]
        for p, (dy, dx) in zip(padded, offsets, strict=True)
    ]
    flips = torch.rand(n, generator=generator) < 0.5
    return torch.where(flips.view(n, 1, 1, 1), torch.stack(crops).flip(-2), torch.stack(crops))


def crop_of_the_padded_size(images, padding, generator):
    return F.pad(images, (padding,) * 4)


def library_crop_flip(images, padding, generator):
    return random_crop_flip(images, padding, generator=generator)


def top_k_averaged_over_k(logits, labels, k):
    return (logits.topk(k, dim=1).indices == labels[:, None]).float().mean().item()


def top_1_whatever_k(logits, labels, k):
    return (logits.argmax(dim=1) == labels).float().mean().item()


WRONG = {
    "conv_output_size": [
        (size_with_true_division, "use floor division"),
        (size_padding_one_side, "2 * padding"),
        (size_rounded_up, "You rounded up"),
    ],
    "conv_parameter_count": [
        (parameters_without_input_channels, "every input channel"),
        (parameters_bias_always, "With bias=False there is no bias"),
    ],
    "standardize_channels": [
        (standardize_with_own_statistics, "Only the training images may provide them"),
        (standardize_all_channels_alike, "each channel needs its own"),
        (standardize_per_pixel, "per pixel"),
    ],
    "random_crop_flip": [
        (library_crop_flip, "pad by reflection"),
        (crop_all_alike, "not one for the whole batch"),
        (crop_with_exclusive_bound, "upper bound is exclusive"),
        (crop_flipping_upside_down, "flipped upside down"),
        (crop_of_the_padded_size, "a window as large as the original image"),
        (crop_with_zero_padding, "pad by reflection"),
        (crop_with_one_offset_for_both_axes, "Draw the two offsets independently"),
        (crop_with_one_offset_for_the_batch, "Draw the offsets for each image"),
    ],
    "top_k_accuracy": [
        (top_k_averaged_over_k, "divides the accuracy by k"),
        (top_1_whatever_k, "k is ignored"),
    ],
}


# The two tests every exercise section has: each mistake above is rejected, and named.
test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer = (
    mistake_tests(ex, WRONG)
)
