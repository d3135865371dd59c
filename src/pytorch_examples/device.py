"""Choosing where examples run: the CPU, or whatever accelerator PyTorch finds."""

from __future__ import annotations

import os

import torch

GPU_ENV_VAR = "PYTORCH_EXAMPLES_GPU"
# How error messages name the accelerators PyTorch supports most widely.
ACCELERATOR_NAMES = {
    "cuda": "a CUDA GPU",
    "mps": "an Apple-silicon GPU (MPS)",
    "xpu": "an Intel GPU (XPU)",
}


def gpu_examples_enabled() -> bool:
    """Say whether GPU-only examples should run.

    First used on :doc:`/auto_examples/vision/plot_gpu_fast_cifar10`.

    Returns
    -------
    bool
        True when ``$PYTORCH_EXAMPLES_GPU`` is ``1`` and CUDA is available.
    """
    return os.environ.get(GPU_ENV_VAR, "") == "1" and torch.cuda.is_available()


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the device an example should use: the accelerator if there is one.

    Taught on :doc:`/auto_examples/vision/plot_devices_and_precision`.

    PyTorch knows one accelerator per machine, whichever backend it was built for and
    finds: a CUDA or ROCm GPU, an Apple-silicon GPU (MPS), an Intel GPU (XPU), and others.
    :mod:`torch.accelerator` reports it in the same way for all of them. Taught on
    :ref:`sphx_glr_auto_examples_vision_plot_devices_and_precision.py`.

    Parameters
    ----------
    prefer : str, optional
        ``None`` picks the accelerator when PyTorch sees one, else the CPU. ``"cpu"``
        forces the CPU. A device type such as ``"cuda"``, ``"mps"`` or ``"xpu"`` insists
        on that accelerator.

    Returns
    -------
    torch.device
        The chosen device.

    Raises
    ------
    ValueError
        If ``prefer`` is not a device type PyTorch knows.
    RuntimeError
        If ``prefer`` names an accelerator that PyTorch does not see; the message says
        what it does see.
    """
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    if prefer is None:
        return accelerator if accelerator is not None else torch.device("cpu")
    try:
        wanted = torch.device(prefer)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"prefer must be None, 'cpu' or an accelerator type such as 'cuda', 'mps' or "
            f"'xpu', got {prefer!r}"
        ) from error
    if wanted.type == "cpu":
        return wanted
    if accelerator is None or accelerator.type != wanted.type:
        needs = ACCELERATOR_NAMES.get(wanted.type, f"a {wanted.type} device")
        raise RuntimeError(
            f"This example needs {needs}, but PyTorch sees {_what_pytorch_sees(accelerator)} "
            f"(torch {torch.__version__}). Run it where PyTorch finds that device, or "
            "pick_device() to use whatever is there."
        )
    return wanted


def _what_pytorch_sees(accelerator: torch.device | None) -> str:
    if accelerator is None:
        return "no accelerator, only the CPU"
    count = torch.accelerator.device_count()
    return f"the accelerator {accelerator.type!r} ({count} device{'s' if count != 1 else ''})"
