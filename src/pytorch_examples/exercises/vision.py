"""Exercises for the vision section, checked on inputs the pages never show.

Used on :doc:`/auto_examples/vision/plot_vision_exercises`. The checks build their own
layers, image batches and logits from fixed seeds; no CIFAR-10 image is needed.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from pytorch_examples.exercises._mistakes import expect_close_or_explain
from pytorch_examples.exercises.grading import Exercise, WrongAnswerError, call

__all__ = [
    "conv_output_size",
    "conv_parameter_count",
    "random_crop_flip",
    "standardize_channels",
    "top_k_accuracy",
]


# conv_output_size


def _conv_output_size_cases(answer) -> str:
    settings = list(itertools.product((33, 32, 7), (3, 5, 1), (2, 3, 1), (1, 2, 0)))
    checked = 0
    for size, kernel, stride, padding in settings:
        if kernel > size + 2 * padding:
            continue  # no window fits
        layer = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
        case = f"size {size}, kernel {kernel}, stride {stride}, padding {padding}"
        got = call(answer, size, kernel, stride, padding, case=case)
        if got is None:
            raise WrongAnswerError(f"On {case}: your function returned None; forgot `return`?")
        if not isinstance(got, int):
            raise WrongAnswerError(
                f"On {case}: expected the int {expected}, got {got!r} ({type(got).__name__}). "
                "A layer's output has a whole number of positions: use floor division //."
            )
        if got != expected:
            # Later entries win where two mistakes give the same number.
            explanations = {
                (size + 2 * padding) // stride: " The last window must fit: subtract the "
                "kernel size before dividing by the stride.",
                (size + 2 * padding - kernel) // stride: " Count the first window too: + 1.",
                -(-(size + 2 * padding - kernel) // stride) + 1: " You rounded up; a window "
                "that would run past the padded edge is not used, so round down.",
                (size + padding - kernel) // stride + 1: " Padding is added on both sides: "
                "2 * padding.",
            }
            raise WrongAnswerError(
                f"On {case}: nn.Conv2d gives {expected} positions, got {got}."
                + explanations.get(got, "")
            )
        checked += 1
    return f"equals nn.Conv2d's output size on {checked} settings"


conv_output_size = Exercise(
    "conv_output_size",
    "Count the positions of the window's first pixel: it moves in steps of `stride` over "
    "the padded input, and the window must fit inside it.",
    _conv_output_size_cases,
)


# conv_parameter_count


def _conv_parameter_count_cases(answer) -> str:
    settings = ((16, 32, 5, False), (3, 8, 3, True), (1, 4, 1, True), (64, 10, 7, True))
    for in_channels, out_channels, kernel, bias in settings:
        layer = nn.Conv2d(in_channels, out_channels, kernel, bias=bias)
        expected = sum(p.numel() for p in layer.parameters())
        case = f"{in_channels} to {out_channels} channels, kernel {kernel}, bias={bias}"
        got = call(answer, in_channels, out_channels, kernel, bias, case=case)
        if got == expected:
            continue
        weights = out_channels * in_channels * kernel * kernel
        # Later entries win where two mistakes give the same number.
        explanations = {
            out_channels * in_channels * kernel + out_channels * bias: " The kernel is "
            "kernel x kernel: square it.",
            weights + out_channels: " With bias=False there is no bias.",
            weights: " The bias adds one number per output channel.",
            out_channels * kernel * kernel + out_channels * bias: " Each filter spans every "
            "input channel: it has in_channels x kernel x kernel weights.",
        }
        raise WrongAnswerError(
            f"On {case}: nn.Conv2d has {expected} parameters, got {got!r}."
            + explanations.get(got, "")
        )
    return f"equals nn.Conv2d's parameter count on {len(settings)} layers"


conv_parameter_count = Exercise(
    "conv_parameter_count",
    "One filter per output channel; each filter has a weight for every input channel at "
    "every position of the kernel; a bias is one number per filter.",
    _conv_parameter_count_cases,
)


# standardize_channels


def _images(generator: torch.Generator, n: int, means: list[float]) -> torch.Tensor:
    """uint8 images, (n, channels, 8, 8), with the given channel means (0 to 255)."""
    spread = torch.randn(n, len(means), 8, 8, generator=generator) * 40
    return (spread + torch.tensor(means).view(1, -1, 1, 1)).round().clamp(0, 255).to(torch.uint8)


def _standardize_channels_cases(answer) -> str:
    generator = torch.Generator().manual_seed(404)
    settings = (([90.0, 140.0, 60.0], [120.0, 100.0, 80.0]), ([200.0, 30.0], [150.0, 70.0]))
    for train_means, other_means in settings:
        train = _images(generator, 64, train_means)
        others = _images(generator, 16, other_means)
        channels = len(train_means)
        case = (
            f"{channels}-channel uint8 images: 64 for training (channel means {train_means}), "
            f"16 others (channel means {other_means})"
        )
        scaled, other_scaled = train.float() / 255, others.float() / 255

        def standardized(mean, std, other_scaled=other_scaled) -> torch.Tensor:
            return (other_scaled - mean) / std

        per_channel = (0, 2, 3)
        got = call(answer, train.clone(), others.clone(), case=case)
        if isinstance(got, torch.Tensor) and got.dtype != torch.float32:
            raise WrongAnswerError(f"On {case}: expected float32, got {got.dtype}")
        expect_close_or_explain(
            got,
            standardized(
                scaled.mean(per_channel, keepdim=True), scaled.std(per_channel, keepdim=True)
            ),
            case=case,
            mistakes=(
                (
                    standardized(
                        other_scaled.mean(per_channel, keepdim=True),
                        other_scaled.std(per_channel, keepdim=True),
                    ),
                    "You used the statistics of the images being standardized. Only the "
                    "training images may provide them: the same fixed numbers must serve "
                    "validation, test and new images.",
                ),
                (
                    standardized(scaled.mean(), scaled.std()),
                    "You used one mean and one standard deviation for all channels; each "
                    "channel needs its own: reduce over dims (0, 2, 3) and keep dim 1.",
                ),
                (
                    standardized(scaled.mean(dim=0), scaled.std(dim=0)),
                    "Your statistics are per pixel (reduced over the images only); reduce "
                    "over the images and the positions, dims (0, 2, 3).",
                ),
                (
                    (other_scaled - other_scaled.mean((2, 3), keepdim=True))
                    / other_scaled.std((2, 3), keepdim=True),
                    "You standardized each image with its own statistics; use the training "
                    "images' per-channel statistics.",
                ),
            ),
            atol=2e-3,  # accepts the standard deviation divided by n or by n - 1
            rtol=1e-4,
        )
    return "standardized with the training images' per-channel mean and standard deviation"


standardize_channels = Exercise(
    "standardize_channels",
    "Scale to [0, 1] with .float() / 255; compute mean and std of the training images over "
    "dims (0, 2, 3) with keepdim=True, so that they broadcast over (n, channels, h, w).",
    _standardize_channels_cases,
)


# random_crop_flip

CROP_IMAGES = 400  # enough that every shift and both flips occur, with a fixed seed


def _crop_candidates(images: torch.Tensor, padding: int, mode: str = "reflect"):
    """Every window (and its mirror) of the padded images: {(dy, dx, flip): windows}."""
    height, width = images.shape[-2:]
    padded = nn.functional.pad(images, (padding,) * 4, mode=mode)
    windows = {}
    for dy, dx in itertools.product(range(2 * padding + 1), repeat=2):
        window = padded[..., dy : dy + height, dx : dx + width]
        windows[dy, dx, False] = window
        windows[dy, dx, True] = window.flip(-1)
    return windows


def _random_crop_flip_cases(answer) -> str:
    padding, channels, height, width = 2, 2, 6, 7
    # Distinct positive values, so that each output pixel says where it came from.
    images = torch.arange(1, CROP_IMAGES * channels * height * width + 1, dtype=torch.float32)
    images = images.view(CROP_IMAGES, channels, height, width)
    case = (
        f"{CROP_IMAGES} images of shape ({channels}, {height}, {width}) with distinct pixel "
        f"values, padding {padding}"
    )
    got = call(answer, images.clone(), padding, torch.Generator().manual_seed(11), case=case)
    if not isinstance(got, torch.Tensor) or got.shape != images.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        raise WrongAnswerError(
            f"On {case}: expected a tensor of shape {tuple(images.shape)} (the input's), got "
            f"{shape}. Pad, then cut a window as large as the original image."
        )
    again = call(answer, images.clone(), padding, torch.Generator().manual_seed(11), case=case)
    if not torch.equal(got, again):
        raise WrongAnswerError(
            f"On {case}: two calls with generators seeded alike gave different batches. Draw "
            "every random number from `generator`."
        )
    found = torch.full((CROP_IMAGES,), -1)
    candidates = _crop_candidates(images, padding)
    keys = list(candidates)
    for number, windows in enumerate(candidates.values()):
        same = (got == windows).flatten(1).all(dim=1)
        found[same & (found < 0)] = number
    if (found < 0).any():
        image = int((found < 0).nonzero()[0])
        one = got[image : image + 1]
        source = images[image : image + 1]
        reflected = _crop_candidates(source, padding)
        zeros = _crop_candidates(source, padding, mode="constant")
        if any(torch.equal(one, window) for window in zeros.values()):
            why = (
                " It is a window of the image padded with zeros: pad by reflection, "
                "mode='reflect', so that the border holds the image's own pixels."
            )
        elif any(
            torch.equal(one, window.flip(-2))
            for (_, _, mirrored), window in reflected.items()
            if not mirrored
        ):
            why = (
                " It is flipped upside down: a horizontal flip mirrors left and right, the "
                "last dimension."
            )
        else:
            why = ""
        raise WrongAnswerError(
            f"On {case}: image {image} is not a {height} x {width} window of the image padded "
            f"by reflection with {padding} pixels on every side, nor the mirror image of "
            f"one.{why}"
        )
    shifts = [keys[i] for i in found.tolist()]
    rows = {dy for dy, _, _ in shifts}
    columns = {dx for _, dx, _ in shifts}
    flipped = sum(flip for *_, flip in shifts) / CROP_IMAGES
    every_shift = set(range(2 * padding + 1))
    if len(set(shifts)) == 1:
        raise WrongAnswerError(
            f"On {case}: every image got the same crop and flip, {shifts[0]}. Draw a shift and "
            "a flip for each image, not one for the whole batch."
        )
    for name, seen in (("vertical", rows), ("horizontal", columns)):
        if len(seen) == 1:
            raise WrongAnswerError(
                f"On {case}: every image got the same {name} offset, {seen.pop()}. Draw the "
                "offsets for each image, not one for the whole batch."
            )
    if all(dy == dx for dy, dx, _ in shifts):
        raise WrongAnswerError(
            f"On {case}: every image's vertical and horizontal offsets were equal, so the "
            "window only ever moved along the diagonal. Draw the two offsets independently."
        )
    for name, seen in (("vertical", rows), ("horizontal", columns)):
        if seen != every_shift:
            raise WrongAnswerError(
                f"On {case}: the {name} window offsets drawn were {sorted(seen)}; expected "
                f"every offset in {sorted(every_shift)}. torch.randint's upper bound is "
                "exclusive: use 2 * padding + 1."
            )
    if not 0.4 < flipped < 0.6:
        raise WrongAnswerError(
            f"On {case}: {flipped:.0%} of the images were mirrored; expected about half."
        )
    return (
        f"every image a window of the reflection-padded image, offsets 0 to {2 * padding} "
        f"each way drawn independently, {flipped:.0%} mirrored"
    )


random_crop_flip = Exercise(
    "random_crop_flip",
    "Pad with nn.functional.pad(images, (padding,) * 4, mode='reflect'); draw two "
    "independent offsets per image in "
    "[0, 2 * padding] and a flip per image; a loop over the images is fine, and "
    "torch.where with a per-image mask applies the flips.",
    _random_crop_flip_cases,
)


# top_k_accuracy


def _top_k_accuracy_cases(answer) -> str:
    generator = torch.Generator().manual_seed(505)
    settings = ((200, 10, 1), (300, 10, 3), (150, 20, 5))
    for n, classes, k in settings:
        logits = torch.randn(n, classes, generator=generator)
        labels = torch.randint(0, classes, (n,), generator=generator)
        top = logits.topk(k, dim=1).indices
        hits = (top == labels[:, None]).any(dim=1)
        case = f"{n} examples, {classes} classes, k = {k}"
        got = call(answer, logits.clone(), labels.clone(), k, case=case)
        expect_close_or_explain(
            got,
            hits.double().mean(),
            case=case,
            mistakes=(
                (
                    (top == labels[:, None]).double().mean(),
                    "You averaged over all n x k comparisons, which divides the accuracy by "
                    "k: an example counts once if its label is anywhere in its top k.",
                ),
                (
                    (logits.argmax(dim=1) == labels).double().mean(),
                    "That is the top-1 accuracy: k is ignored.",
                ),
                (
                    (logits.topk(k, dim=1, largest=False).indices == labels[:, None])
                    .any(dim=1)
                    .double()
                    .mean(),
                    "You took the k smallest logits.",
                ),
            ),
            atol=1e-6,
            rtol=0.0,
        )
    return f"top-k accuracy for k = {', '.join(str(k) for *_, k in settings)}"


top_k_accuracy = Exercise(
    "top_k_accuracy",
    "logits.topk(k, dim=1).indices holds each example's k best classes; compare it with "
    "labels[:, None] and ask whether any of the k matches.",
    _top_k_accuracy_cases,
)
