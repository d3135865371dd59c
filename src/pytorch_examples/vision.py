"""Image classifiers for CIFAR-10 and the helpers that train and score them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples._checks import check_positive_float, check_positive_int
from pytorch_examples.cifar10 import normalize, random_crop_flip


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """Return a 3x3 convolution, batch normalization and ReLU; the size is kept.

    The convolution has no bias because batch normalization's shift replaces it.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """A plain convolutional network sized for training on a laptop CPU.

    Each stage is a conv-BatchNorm-ReLU block followed by 2x2 max pooling, which
    halves the image and lets the next stage's 3x3 filters see twice as far. After
    the last stage, global max pooling keeps each channel's strongest response
    anywhere in the image, and a linear layer maps those to class logits.

    Parameters
    ----------
    widths : sequence of int
        Channels of each stage; the image side halves after each.
    n_classes : int
        Number of outputs.
    """

    def __init__(self, widths: Sequence[int] = (32, 64, 128), n_classes: int = 10) -> None:
        super().__init__()
        if len(widths) == 0:
            raise ValueError("widths must name at least one stage")
        stages, in_channels = [], 3
        for width in widths:
            stages += [
                conv_bn_relu(in_channels, check_positive_int("width", width)),
                nn.MaxPool2d(2),
            ]
            in_channels = width
        self.features = nn.Sequential(*stages)
        self.head = nn.Linear(in_channels, check_positive_int("n_classes", n_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return logits, shape ``(batch, n_classes)``, for images ``(batch, 3, h, w)``."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape (batch, 3, h, w), got {tuple(images.shape)}")
        return self.head(torch.amax(self.features(images), dim=(2, 3)))


class Residual(nn.Module):
    """``x + f(x)``: the block learns a correction to its input."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the inner module's output to its input."""
        return x + self.inner(x)


class ResNet9(nn.Module):
    """A nine-layer residual network in the style of the fast CIFAR-10 training records.

    A stem convolution, then three stages that each widen, pool, and (in the first and
    last) add a residual pair of convolutions; then global max pooling and a linear
    layer whose output is scaled down, which trains faster with large learning rates.

    Parameters
    ----------
    width : int
        Channels of the stem; the stages use 2x, 4x and 8x.
    n_classes : int
        Number of outputs.
    """

    def __init__(self, width: int = 64, n_classes: int = 10) -> None:
        super().__init__()
        w = check_positive_int("width", width)
        self.layers = nn.Sequential(
            conv_bn_relu(3, w),
            conv_bn_relu(w, 2 * w), nn.MaxPool2d(2),
            Residual(nn.Sequential(conv_bn_relu(2 * w, 2 * w), conv_bn_relu(2 * w, 2 * w))),
            conv_bn_relu(2 * w, 4 * w), nn.MaxPool2d(2),
            conv_bn_relu(4 * w, 8 * w), nn.MaxPool2d(2),
            Residual(nn.Sequential(conv_bn_relu(8 * w, 8 * w), conv_bn_relu(8 * w, 8 * w))),
        )  # fmt: skip
        self.head = nn.Linear(8 * w, check_positive_int("n_classes", n_classes), bias=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return logits, shape ``(batch, n_classes)``."""
        return self.head(torch.amax(self.layers(images), dim=(2, 3))) * 0.125


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    *,
    batch_size: int = 1000,
    flip_average: bool = False,
) -> torch.Tensor:
    """Predicted class of each uint8 image, in evaluation mode and in batches.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; it is put in evaluation mode and left there.
    images : torch.Tensor
        ``uint8``, shape ``(n, 3, h, w)``, on the model's device.
    mean, std : torch.Tensor
        Per-channel statistics for :func:`pytorch_examples.cifar10.normalize`.
    batch_size : int
        Images per forward pass.
    flip_average : bool
        Average the logits of each image and its mirror image (test-time
        augmentation; costs a second forward pass).

    Returns
    -------
    torch.Tensor
        ``int64`` class indices, shape ``(n,)``, on the images' device.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    model.eval()
    memory_format = _memory_format_of(model)
    predictions = []
    for start in range(0, len(images), batch_size):
        batch = normalize(images[start : start + batch_size], mean, std)
        batch = batch.contiguous(memory_format=memory_format)
        logits = model(batch)
        if flip_average:
            logits = logits + model(batch.flip(3))
        predictions.append(logits.argmax(dim=1))
    return torch.cat(predictions)


def _memory_format_of(model: nn.Module) -> torch.memory_format:
    """channels_last if the model's first 4-D weight is stored that way."""
    for parameter in model.parameters():
        if parameter.ndim == 4:
            if parameter.is_contiguous(memory_format=torch.channels_last):
                return torch.channels_last
            break
    return torch.contiguous_format


def confusion_matrix(
    predicted: torch.Tensor, actual: torch.Tensor, n_classes: int
) -> torch.Tensor:
    """Count ``matrix[true class, predicted class]``.

    Parameters
    ----------
    predicted, actual : torch.Tensor
        Class indices of the same shape.
    n_classes : int
        Number of classes.

    Returns
    -------
    torch.Tensor
        ``int64``, shape ``(n_classes, n_classes)``; row ``i`` sums to the number of
        images of class ``i``.
    """
    n_classes = check_positive_int("n_classes", n_classes)
    if predicted.shape != actual.shape:
        raise ValueError(f"shapes differ: {tuple(predicted.shape)} vs {tuple(actual.shape)}")
    flat = actual.cpu() * n_classes + predicted.cpu()
    return torch.bincount(flat, minlength=n_classes**2).reshape(n_classes, n_classes)


@dataclass(frozen=True)
class FastTrainConfig:
    """Settings of :func:`train_fast`; the defaults are the GPU example's.

    Attributes
    ----------
    epochs : float
        Passes over the training set (fractions allowed).
    batch_size : int
        Images per step.
    max_learning_rate : float
        Peak of the one-cycle schedule (SGD with Nesterov momentum).
    weight_decay : float
        L2 penalty on the weights.
    label_smoothing : float
        Share of each target's probability spread over the other classes.
    width : int
        Stem width of :class:`ResNet9`.
    mixed_precision : bool
        Run forward passes in bfloat16 with :func:`torch.autocast`.
    channels_last : bool
        Store images and weights as NHWC, the layout tensor cores prefer.
    compile : bool
        Compile the model with :func:`torch.compile`.
    seed : int
        Seed of the weights, the shuffles and the augmentation.
    """

    epochs: float = 12.0
    batch_size: int = 512
    max_learning_rate: float = 0.2
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    width: int = 64
    mixed_precision: bool = True
    channels_last: bool = True
    compile: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        """Check the settings."""
        check_positive_float("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive_float("max_learning_rate", self.max_learning_rate)
        check_positive_int("width", self.width)
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")


@dataclass(frozen=True)
class FastTrainResult:
    """What :func:`train_fast` returns."""

    model: nn.Module
    seconds: float
    images_per_second: float
    losses: list[float]


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer read afterwards includes it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_fast(
    config: FastTrainConfig,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    *,
    on_epoch: Callable[[int, float], None] | None = None,
) -> FastTrainResult:
    """Train a :class:`ResNet9` on images that already sit on the training device.

    The data stays on the device as uint8; each batch is augmented and normalized
    there, so no time goes to copying or per-image Python work.

    Parameters
    ----------
    config : FastTrainConfig
        The settings.
    train_images : torch.Tensor
        ``uint8``, shape ``(n, 3, 32, 32)``, on the device to train on.
    train_labels : torch.Tensor
        ``int64``, shape ``(n,)``, same device.
    mean, std : torch.Tensor
        Per-channel statistics for normalization.
    on_epoch : callable, optional
        Called after each epoch with the epoch number and the elapsed seconds.

    Returns
    -------
    FastTrainResult
        The trained model (in training mode), the training time measured with the
        device synchronized, the throughput and the loss of every step.
    """
    device = train_images.device
    if train_labels.device != device or len(train_labels) != len(train_images):
        raise ValueError("train_images and train_labels must match in length and device")
    torch.manual_seed(config.seed)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = ResNet9(config.width).to(device=device, memory_format=memory_format)
    step_model = torch.compile(model) if config.compile else model
    steps_per_epoch = len(train_images) // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"batch_size {config.batch_size} exceeds the {len(train_images)} images")
    total_steps = max(1, round(config.epochs * steps_per_epoch))
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.max_learning_rate, momentum=0.9, nesterov=True,
        weight_decay=config.weight_decay,
    )  # fmt: skip
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.max_learning_rate, total_steps=total_steps, pct_start=0.25
    )
    losses: list[torch.Tensor] = []
    synchronize(device)
    started = time.perf_counter()
    step, epoch = 0, 0
    model.train()
    while step < total_steps:
        order = torch.randperm(len(train_images), device=device, generator=generator)
        for first in range(0, steps_per_epoch * config.batch_size, config.batch_size):
            if step == total_steps:
                break
            index = order[first : first + config.batch_size]
            images = random_crop_flip(train_images[index], generator=generator)
            images = normalize(images, mean, std).contiguous(memory_format=memory_format)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.mixed_precision):
                logits = step_model(images)
            loss = F.cross_entropy(
                logits.float(), train_labels[index], label_smoothing=config.label_smoothing
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.detach())  # no .item(): it would wait for the GPU every step
            step += 1
        epoch += 1
        if on_epoch is not None:
            synchronize(device)
            on_epoch(epoch, time.perf_counter() - started)
    synchronize(device)
    seconds = time.perf_counter() - started
    return FastTrainResult(
        model=model,
        seconds=seconds,
        images_per_second=step * config.batch_size / seconds,
        losses=torch.stack(losses).tolist(),
    )
