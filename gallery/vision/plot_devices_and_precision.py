r"""
Devices, mixed precision and honest timing
==========================================

The same PyTorch code runs on a CPU or a GPU; what changes is where tensors live and
how you measure speed. This page runs on whatever the build machine has (a CPU if
there is no GPU). You will learn:

* how the package picks a device, and how tensors and models move between devices;
* what :func:`torch.autocast` does to dtypes, and what lower precision costs in
  accuracy;
* why timing GPU code needs :func:`torch.cuda.synchronize`.
"""

# %%
# Setup
# -----
import time

import torch
from torch import nn

from pytorch_examples.device import pick_device
from pytorch_examples.reporting import format_table
from pytorch_examples.vision import synchronize

SEED = 0
MATRIX_SIZE = 512
N_REPEATS = 5

torch.manual_seed(SEED)

# %%
# Choosing a device
# -----------------
# :func:`~pytorch_examples.device.pick_device` returns CUDA when PyTorch sees a GPU
# and the CPU otherwise; every example that can use a GPU asks it. ``pick_device
# ("cuda")`` insists on a GPU and fails with a clear message when there is none.
device = pick_device()
print(f"PyTorch {torch.__version__}; device: {device}")
if device.type == "cuda":
    print(f"GPU: {torch.cuda.get_device_name(device)}")

# %%
# Moving tensors and models
# -------------------------
# A tensor lives on one device; ``.to(device)`` returns a copy there (or the tensor
# itself if it is already there). A model's ``.to(device)`` moves its parameters in
# place. Inputs and parameters must be on the same device, or PyTorch refuses.
x = torch.randn(4, 3)
model = nn.Linear(3, 2)
x_on_device = x.to(device)
model.to(device)
print(f"x: {x.device} -> {x_on_device.device}; weights on {next(model.parameters()).device}")
print(f"output on {model(x_on_device).device}")

# %%
# Mixed precision with autocast
# -----------------------------
# Inside ``torch.autocast``, operations that gain from lower precision (matrix
# products, convolutions) run in a 16-bit type, while precision-sensitive ones
# (sums, softmax, losses) stay in float32. The parameters themselves stay float32.
# bfloat16 keeps float32's exponent range and gives up mantissa bits: about 3
# significant decimal digits instead of 7.
a = torch.randn(MATRIX_SIZE, MATRIX_SIZE, device=device)
b = torch.randn(MATRIX_SIZE, MATRIX_SIZE, device=device)
with torch.autocast(device.type, dtype=torch.bfloat16):
    product_low = a @ b
    summed = product_low.float().sum()
product_full = a @ b
relative_error = ((product_low.float() - product_full).norm() / product_full.norm()).item()
print(f"inside autocast: matmul gives {product_low.dtype}, the sum {summed.dtype}")
print(
    f"relative error of the bfloat16 product: {relative_error:.1e} "
    f"(bfloat16 resolution: {torch.finfo(torch.bfloat16).eps:.1e})"
)


# %%
# Timing that waits for the device
# --------------------------------
# CUDA calls return as soon as the work is *queued*; the GPU runs it later. A timer
# read right after a GPU call measures only the queueing. ``synchronize`` waits
# until the queue is empty, so it goes before *both* timer reads (on the CPU it does
# nothing, since CPU operations finish before they return). A first warm-up call
# keeps one-time costs (allocations, kernel selection) out of the measurement.
def time_matmul(dtype: torch.dtype, wait: bool) -> float:
    """Mean seconds per product of two MATRIX_SIZE x MATRIX_SIZE matrices."""
    left, right = a.to(dtype), b.to(dtype)
    left @ right  # warm-up
    synchronize(device)
    started = time.perf_counter()
    for _ in range(N_REPEATS):
        left @ right
    if wait:
        synchronize(device)
    return (time.perf_counter() - started) / N_REPEATS


rows = []
for dtype in (torch.float32, torch.bfloat16):
    seconds = time_matmul(dtype, wait=True)
    tflops = 2 * MATRIX_SIZE**3 / seconds / 1e12
    rows.append((str(dtype).removeprefix("torch."), seconds * 1e3, tflops))
print(format_table(["dtype", "ms per matmul", "TFLOP/s"], rows, digits=3))
if device.type == "cuda":
    print(
        f"without synchronizing, float32 seems to take "
        f"{time_matmul(torch.float32, wait=False) * 1e3:.3f} ms: only the queueing"
    )

speedup = rows[0][1] / rows[1][1]
print(f"bfloat16 is {speedup:.2f} times as fast as float32 here")

# %%
# On a GPU with tensor cores, bfloat16 products run several times faster than
# float32. On a CPU it depends on the processor: with bfloat16 instructions (recent
# Intel and AMD server chips) it can gain; without them bfloat16 is emulated and far
# *slower*, which is why mixed precision is a GPU technique. The numbers above are
# this build machine's own measurement.
