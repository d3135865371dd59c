"""Solutions of the vision exercises (gallery/vision/plot_vision_exercises.py).

Shown in the page's "Solution" dropdowns by docs/ext/exercise_pages.py, which checks each
one while the site is built. Each function is pasted whole into a notebook by readers and
by tests/site/check_downloads.py, so it uses only the names the page imports.
"""

import torch


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def conv_parameter_count(in_channels: int, out_channels: int, kernel: int, bias: bool) -> int:
    weights = out_channels * in_channels * kernel * kernel
    return weights + (out_channels if bias else 0)


def standardize_channels(train_images: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    train = train_images.float() / 255
    mean = train.mean(dim=(0, 2, 3), keepdim=True)
    std = train.std(dim=(0, 2, 3), keepdim=True)
    return (images.float() / 255 - mean) / std


def random_crop_flip(
    images: torch.Tensor, padding: int, generator: torch.Generator
) -> torch.Tensor:
    n, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4, mode="reflect")
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    crops = []
    for image, (dy, dx), flip in zip(padded, offsets.tolist(), flips, strict=True):
        crop = image[:, dy : dy + height, dx : dx + width]
        crops.append(crop.flip(-1) if flip else crop)
    return torch.stack(crops)


def top_k_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    best = logits.topk(k, dim=1).indices
    return (best == labels[:, None]).any(dim=1).float().mean().item()
