r"""
Devices, mixed precision and honest timing
==========================================

The same PyTorch code runs on a CPU or a GPU; what changes is where tensors live and
how you measure speed. This page runs on whatever the build machine has (a CPU if
there is no GPU), and every dtype and timing it prints is that machine's. You will
learn:

* how :mod:`torch.accelerator` finds the machine's accelerator, whichever kind it is
  (a CUDA or ROCm GPU, an Apple-silicon GPU, an Intel GPU), and how the package picks a
  device with it;
* how tensors and models move between devices;
* how many significant digits float32, float16 and bfloat16 keep;
* what :func:`torch.autocast` does to dtypes, and what bfloat16 costs in accuracy;
* why timing accelerator code needs :func:`torch.accelerator.synchronize`.
"""

# %%
# Setup
# -----
import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.device import pick_device
from pytorch_examples.reporting import format_table

SEED = 0
MATRIX_SIZE = 512
N_REPEATS = 5

torch.manual_seed(SEED)

# %%
# Choosing a device
# -----------------
# PyTorch supports one kind of accelerator per machine: the one its build targets and
# finds, a CUDA GPU, an Apple-silicon GPU (``mps``), an Intel GPU (``xpu``) or another.
# :mod:`torch.accelerator` asks the same questions of all of them, so code written
# with it runs unchanged on each. Here is what it reports on the machine that built
# this page:
accelerator = torch.accelerator.current_accelerator(check_available=True)
print(f"PyTorch {torch.__version__}")
print(f"torch.accelerator.is_available(): {torch.accelerator.is_available()}")
print(f"current_accelerator(check_available=True): {accelerator}")
print(f"device_count(): {torch.accelerator.device_count()}")

# %%
# :func:`~pytorch_examples.device.pick_device` returns that accelerator when there is
# one and the CPU otherwise: code that should use an accelerator when there is one
# asks it.
# ``pick_device("cpu")`` forces the CPU, and ``pick_device("cuda")`` (or ``"mps"``,
# ``"xpu"``) insists on one kind and fails with a message that says what PyTorch sees
# instead:
device = pick_device()
print(f"pick_device(): {device}")
if accelerator is None:
    try:
        pick_device("cuda")
    except RuntimeError as error:
        print(f"pick_device('cuda'): {error}")

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
# Three floating-point formats
# ----------------------------
# A floating-point number is stored as a sign bit, exponent bits and the fraction
# bits of its significand. The significand's leading 1 is not stored, so a format
# with :math:`p` significant bits stores :math:`p - 1` of them. The gap between 1 and
# the next larger number, ``torch.finfo(dtype).eps``, is :math:`2^{1-p}`, so
# :math:`p = 1 - \log_2 \varepsilon`, and :math:`p` bits hold about
# :math:`p \log_{10} 2` decimal digits. The exponent sets the range, shown by the
# largest finite value.
formats = []
for dtype in (torch.float32, torch.float16, torch.bfloat16):
    info = torch.finfo(dtype)
    significant_bits = round(1 - math.log2(info.eps))
    exponent_bits = info.bits - 1 - (significant_bits - 1)  # all but sign and fraction
    digits = significant_bits * math.log10(2)
    name = str(dtype).removeprefix("torch.")
    formats.append((name, exponent_bits, significant_bits, digits, f"{info.max:.3g}"))
headers = ["dtype", "exponent bits", "significant bits", "decimal digits", "largest"]
print(format_table(headers, formats, digits=2))

# %%
# bfloat16 has float32's 8 exponent bits, and so nearly its range, but only 8
# significant bits (7 stored): about 2.4 decimal digits, where float32 keeps about
# 7.2. float16 is more precise than bfloat16 and has a far smaller range.
#
# Mixed precision with autocast
# -----------------------------
# Inside ``torch.autocast``, PyTorch chooses each operation's dtype from lists kept per
# device type. Matrix products and convolutions run in the 16-bit type; operations on
# the float32 list, the losses among them, run in float32; most others run in the dtype
# of their inputs. Autocast converts the inputs of an operation as it runs, so the
# tensors themselves keep their dtype (checked below). The lists differ between devices:
# on CUDA ``sum`` is on the float32 list, on the CPU it is not. The default 16-bit type
# differs too: PyTorch reports it for each kind of device:
device_types = ("cpu", "cuda", "mps", "xpu")
defaults = [(kind, str(torch.get_autocast_dtype(kind))) for kind in device_types]
print(format_table(["device type", "autocast's default dtype"], defaults))

# %%
# This page asks autocast for bfloat16, the CPU's default, which has float32's range
# and so needs no loss scaling. Here is what autocast returns on this machine:
a = torch.randn(MATRIX_SIZE, MATRIX_SIZE, device=device)
b = torch.randn(MATRIX_SIZE, MATRIX_SIZE, device=device)
with torch.autocast(device.type, dtype=torch.bfloat16):
    product_low = a @ b
    total = product_low.sum()
    loss = F.mse_loss(product_low, a)
print(f"a and b: {a.dtype}")
print(f"inside autocast: a @ b gives {product_low.dtype}, its .sum() {total.dtype}")
print(f"inside autocast: F.mse_loss gives {loss.dtype}")
check(product_low.dtype == torch.bfloat16, "autocast ran the matrix product in bfloat16")
check(loss.dtype == torch.float32, "autocast ran the loss in float32")
check(a.dtype == b.dtype == torch.float32, "the inputs themselves stayed float32")

# %%
# The product's cost in accuracy: compare it with the float32 product outside
# autocast. Rounding to :math:`p` significant bits changes a number by at most
# :math:`2^{-p}` of its size, :math:`2^{-8}` for bfloat16.
product_full = a @ b
relative_error = ((product_low.float() - product_full).norm() / product_full.norm()).item()
bfloat16_rounding = 2.0 ** -formats[2][2]
print(
    f"relative error of the bfloat16 product: {relative_error:.1e} "
    f"(bfloat16 rounds by at most {bfloat16_rounding:.1e} of a number)"
)
check(
    bfloat16_rounding / 10 < relative_error < bfloat16_rounding,
    "the product's relative error is of the order of bfloat16's rounding",
)


# %%
# Timing that waits for the device
# --------------------------------
# Calls on an accelerator return as soon as the work is *queued*; the device runs it
# later. A timer read right after such a call measures only the queueing.
# :func:`torch.accelerator.synchronize` waits until the queue is empty, whatever the
# accelerator, so it goes before *both* timer reads. The CPU needs no such wait, since
# its operations finish before they return. A first warm-up call keeps one-time costs
# (allocations, kernel selection) out of the measurement.
def synchronize() -> None:
    """Wait until the device has finished all queued work (a no-op on the CPU)."""
    if device.type != "cpu":
        torch.accelerator.synchronize(device)


def time_matmul(dtype: torch.dtype, wait: bool) -> float:
    """Mean seconds per product of two MATRIX_SIZE x MATRIX_SIZE matrices."""
    left, right = a.to(dtype), b.to(dtype)
    left @ right  # warm-up
    synchronize()
    started = time.perf_counter()
    for _ in range(N_REPEATS):
        left @ right
    if wait:
        synchronize()
    return (time.perf_counter() - started) / N_REPEATS


rows = []
for dtype in (torch.float32, torch.bfloat16):
    seconds = time_matmul(dtype, wait=True)
    gflops = 2 * MATRIX_SIZE**3 / seconds / 1e9  # n^3 multiply-adds per product
    rows.append((str(dtype).removeprefix("torch."), seconds * 1e3, gflops))
print(format_table(["dtype", "ms per matmul", "GFLOP/s"], rows, digits=2))
if device.type != "cpu":
    print(
        f"without synchronizing, float32 seems to take "
        f"{time_matmul(torch.float32, wait=False) * 1e3:.3f} ms: only the queueing"
    )

time_ratio = rows[1][1] / rows[0][1]  # bfloat16 time over float32 time
if time_ratio > 1:
    print(f"on this {device.type}, bfloat16 took {time_ratio:.1f} times as long as float32")
else:
    print(f"on this {device.type}, bfloat16 was {1 / time_ratio:.1f} times as fast as float32")

# %%
# Mixed precision is best known from GPUs, whose tensor cores multiply 16-bit
# matrices at a much higher peak rate than float32 ones. It is not a GPU-only
# technique: ``torch.autocast("cpu", dtype=torch.bfloat16)`` works too (it is what
# ran above when the build had no GPU), and the last line says how a bfloat16 product
# compared with a float32 one on this build machine. On a CPU the answer depends on
# the processor: those with bfloat16 matrix instructions (AVX-512 BF16 or AMX, found
# in some recent processors) can multiply faster in bfloat16, while on others a
# bfloat16 product can be slower than a float32 one. Measure on your own machine
# before choosing.
