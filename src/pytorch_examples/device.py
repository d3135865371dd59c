"""Choosing where examples run."""

from __future__ import annotations

import os

import torch

GPU_ENV_VAR = "PYTORCH_EXAMPLES_GPU"


def gpu_examples_enabled() -> bool:
    """Say whether GPU-only examples should run.

    Returns
    -------
    bool
        True when ``$PYTORCH_EXAMPLES_GPU`` is ``1`` and CUDA is available.
    """
    return os.environ.get(GPU_ENV_VAR, "") == "1" and torch.cuda.is_available()


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the device an example should use.

    Parameters
    ----------
    prefer : str, optional
        ``"cpu"`` or ``"cuda"`` to insist on one; ``None`` picks CUDA when it is
        available, else the CPU.

    Returns
    -------
    torch.device
        The chosen device.

    Raises
    ------
    ValueError
        If ``prefer`` names another device.
    RuntimeError
        If ``prefer="cuda"`` and PyTorch sees no CUDA device.
    """
    if prefer is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if prefer not in ("cpu", "cuda"):
        raise ValueError(f"prefer must be 'cpu', 'cuda' or None, got {prefer!r}")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "This example needs a CUDA GPU, but PyTorch sees none "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). "
            "Run it on a machine with an NVIDIA GPU and a CUDA build of PyTorch."
        )
    return torch.device(prefer)
