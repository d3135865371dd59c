r"""
Fast: where the time goes, with torch.profiler and torch.compile
================================================================

Before making a model faster, find out what its time is spent on. This page takes
the digits MLP of :doc:`/auto_examples/classification/plot_digits_mlp`, retrained
here, and reads its forward pass with :mod:`torch.profiler`, before and after
:func:`torch.compile`. You will learn:

* how to profile a forward pass, and read the profiler's table: self time, total
  time, calls;
* why one image and a large batch spend their time in different places;
* what compiling changes in the profile, and what it adds to every call.

:doc:`/auto_examples/practice/plot_export_and_quantize` then ships the same model and
times every form of it in one table.
"""

# %%
# Setup
# -----
# The model is the digits page's MLP with its recipe; it trains for ``N_EPOCHS``
# epochs and keeps the weights of the epoch with the lowest validation loss. PyTorch
# runs on ``N_THREADS`` threads, as on the next page, where ONNX Runtime gets as many.
import copy
import math
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F
from torch.profiler import ProfilerActivity, profile, schedule

from pytorch_examples.claims import check
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import evaluate

SEED = 0
HIDDEN_UNITS = 128
N_EPOCHS = 60
BATCH_SIZE = 64
LEARNING_RATE = 3e-2
WEIGHT_DECAY = 1e-4
N_THREADS = 1
LARGE_BATCH = 4096  # images in the large batch
PROFILED_CALLS = (2000, 100)  # forward passes recorded at batch 1 and at the large batch

torch.manual_seed(SEED)
default_threads = torch.get_num_threads()
torch.set_num_threads(N_THREADS)
print(f"threads: {N_THREADS}")
data = load_digits_split(seed=SEED)
model = nn.Sequential(nn.Linear(64, HIDDEN_UNITS), nn.ReLU(), nn.Linear(HIDDEN_UNITS, 10))
optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
shuffles = torch.Generator().manual_seed(SEED)
best_loss = math.inf
for epoch in range(1, N_EPOCHS + 1):
    model.train()
    for batch in torch.randperm(len(data.train_y), generator=shuffles).split(BATCH_SIZE):
        loss = F.cross_entropy(model(data.train_x[batch]), data.train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    on_val = evaluate(model, data.val_x, data.val_y)
    if on_val.loss < best_loss:
        best_loss, best_epoch, best_state = on_val.loss, epoch, copy.deepcopy(model.state_dict())
model.load_state_dict(best_state)
model.eval()
print(f"best validation epoch {best_epoch} of {N_EPOCHS}, validation loss {best_loss:.4f}")
n_weights = sum(layer.weight.numel() for layer in model if isinstance(layer, nn.Linear))
print(f"{n_weights:,} weights: one multiply-add each per image")
one_image, large_batch = data.val_x[:1], data.val_x.repeat(LARGE_BATCH // len(data.val_x) + 1, 1)
large_batch = large_batch[:LARGE_BATCH]

# %%
# Where does the time go?
# -----------------------
# :class:`torch.profiler.profile` records every operator the forward pass calls, with
# the CPU time spent in it (``record_shapes=True`` would add the shapes each saw). Its
# ``schedule`` leaves the first steps out (``profiler.step()`` ends each step), so that
# starting the profiler is not counted as the model's time. The table sorts operators
# by their *self* time, which excludes the operators they call: ``aten::linear`` only
# dispatches to ``aten::addmm``, the matrix product with the bias, and to ``aten::t``,
# a transposed view of the weight, for example; its ``# of Calls`` column shows two
# ``aten::addmm`` per step, one per linear layer. The row ``ProfilerStep*`` is the step
# itself: its self time is everything outside the recorded operators, the Python of
# the module calls and the profiler's own work. Its share of the step is printed below
# the table, and it is left out of the shares and the figure, which divide the self
# time spent in operators. Each operator is sorted into one kind: arithmetic; the
# ``aten::copy_`` with which ``aten::addmm`` writes the bias into every row of its
# output before adding the product; only dispatching, making a view or allocating an
# empty tensor; or, once compiled, the generated code and the wrappers around it.
KINDS = {"aten::addmm": "arithmetic", "aten::clamp_min": "arithmetic", "aten::copy_": "copy"}
WRAPPERS = ("Torch-Compiled Region", "TorchDynamo Cache Lookup", "Pregraph", "AOTDispatcher")
COLORS = {
    "arithmetic": "C0",
    "copy": "C4",
    "dispatch or view": "C1",
    "generated code": "C2",
    "wrapper": "C3",
}


def kind(operator: str) -> str:
    """Which kind of work an entry of the profile is."""
    if operator in KINDS:
        return KINDS[operator]
    if "CompiledFxGraph" in operator:
        return "generated code"
    if operator.startswith(WRAPPERS):
        return "wrapper"
    return "dispatch or view"  # aten::empty, which only allocates, included


def profile_forward(run, images: torch.Tensor, calls: int) -> dict[str, float]:
    """Profile ``calls`` forward passes; return each operator's share of their self time."""
    steps = schedule(wait=1, warmup=1, active=calls)
    with torch.inference_mode():
        run(images)  # not timed, as the schedule leaves the first steps out
        started = time.perf_counter()
        for _ in range(calls):
            run(images)
        unprofiled = (time.perf_counter() - started) / calls
        with profile(activities=[CPU], schedule=steps) as profiler:
            for _ in range(calls + 2):
                run(images)
                profiler.step()
    events = profiler.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=6, max_name_column_width=36))
    step = next(event for event in events if event.key.startswith("ProfilerStep"))
    print(
        f"ProfilerStep* self time: {step.self_cpu_time_total / step.cpu_time_total:.0%} of the "
        f"steps; a profiled step over an unprofiled call: "
        f"{step.cpu_time_total / step.count / (unprofiled * 1e6):.1f}"
    )
    operators = [event for event in events if event.key != step.key]
    total = sum(event.self_cpu_time_total for event in operators)
    return {event.key[:36]: event.self_cpu_time_total / total for event in operators}


CPU = ProfilerActivity.CPU
sizes = {"batch 1": one_image, f"batch {LARGE_BATCH}": large_batch}
calls = dict(zip(sizes, PROFILED_CALLS, strict=True))


def share_by_kind(share: dict[str, float]) -> dict[str, float]:
    """The shares of the operators of each kind, added up."""
    return {k: sum(s for op, s in share.items() if kind(op) == k) for k in COLORS}


def show_kinds(name: str, size: str) -> None:
    """Print the shares of each kind in one profile."""
    print(f"{name}, {size}:", ", ".join(f"{k} {s:.0%}" for k, s in by_kind[name, size].items()))


shares, by_kind = {}, {}
for size, images in sizes.items():
    shares["eager", size] = profile_forward(model, images, calls[size])
    by_kind["eager", size] = share_by_kind(shares["eager", size])
    show_kinds("eager", size)
large = f"batch {LARGE_BATCH}"
check(
    by_kind["eager", "batch 1"]["dispatch or view"] > 0.25
    and by_kind["eager", large]["dispatch or view"] < 0.1,
    "at batch 1 more than a quarter of the self time in operators goes to those that "
    "compute nothing; at the large batch less than a tenth",
)

# %%
# With one image, the arithmetic is fewer than ten thousand multiply-adds, and the cost
# of calling each operator, which the profiler inflates by recording it (the ratio
# under each table compares a profiled step with an unprofiled call), is a large
# share of the whole: more than a quarter of the self time in operators goes to those
# that compute nothing. With a large batch the matrix products, the ReLU
# (``aten::clamp_min``) and the bias copy take almost all of it. So the two regimes ask
# for different cures: fewer, cheaper calls at batch 1, faster arithmetic at a large
# batch.
#
# Compiled
# --------
# :func:`torch.compile` traces the model into a graph and generates code for it on its
# first call. A call with another batch size fails that code's checks (its *guards*)
# and compiles once more, this time with the batch dimension left symbolic: with
# PyTorch's default *automatic dynamic shapes*, that second code is guarded to accept
# any batch size of two or more, while batch 1 keeps the code specialised to it. The
# profile's ``Torch-Compiled Region`` rows name the two as frame and compilation
# (``0/0`` and ``0/1`` in a fresh process). Calls at three batch sizes it has not seen
# show that they compile nothing more; then the profiles:
compiled = torch.compile(model)
with torch.inference_mode():
    for size, images in sizes.items():
        started = time.perf_counter()
        compiled(images)
        print(f"first call of the compiled model at {size}: {time.perf_counter() - started:.2f} s")


def compiles_again(images: torch.Tensor) -> bool:
    """Whether calling the compiled model on ``images`` would compile new code."""
    with torch.compiler.set_stance("fail_on_recompile"), torch.inference_mode():
        try:
            compiled(images)
        except RuntimeError:
            return True
    return False


again = {n: compiles_again(data.val_x[:n]) for n in (2, 3, len(data.val_x))}
print(f"compiles again, by batch size not seen before: {again}")
for size, images in sizes.items():
    shares["compiled", size] = profile_forward(compiled, images, calls[size])
    by_kind["compiled", size] = share_by_kind(shares["compiled", size])
    show_kinds("compiled", size)
regions = [{op for op in shares["compiled", size] if op.startswith(WRAPPERS[0])} for size in sizes]
check(
    not any(again.values())
    and len(regions[0]) == len(regions[1]) == 1
    and regions[0] != regions[1],
    "batch 1 and the large batch run different compiled code, and the new batch sizes "
    "tried compile nothing more",
)

fig, axes = plt.subplots(2, 2, figsize=(11, 5.5), sharex=True)
panels = [(name, size) for name in ("eager", "compiled") for size in sizes]
for ax, (name, size) in zip(axes.flat, panels, strict=True):
    share = shares[name, size]
    ranked = sorted(share, key=share.get)[-6:]
    labels = ["CompiledFxGraph" if "CompiledFxGraph" in op else op for op in ranked]
    ax.barh(labels, [share[op] for op in ranked], color=[COLORS[kind(op)] for op in ranked])
    ax.set_title(f"{name}, {size}", fontsize=10)
for ax in axes[1]:
    ax.set_xlabel("share of self time in operators (ProfilerStep* excluded)")
handles = [plt.Rectangle((0, 0), 1, 1, color=color) for color in COLORS.values()]
fig.legend(handles, list(COLORS), loc="upper center", ncol=len(COLORS), fontsize=9)
fig.tight_layout(rect=(0, 0, 1, 0.94))
plt.show()
check(
    not any(op.startswith("aten::clamp_min") for size in sizes for op in shares["compiled", size])
    and all("aten::addmm" in shares["compiled", size] for size in sizes),
    "at both batch sizes the compiled model calls no ReLU operator, and still calls aten::addmm",
)
check(
    by_kind["compiled", "batch 1"]["wrapper"] > by_kind["compiled", "batch 1"]["arithmetic"]
    and by_kind["compiled", large]["wrapper"] < by_kind["compiled", large]["arithmetic"],
    "at batch 1 the wrappers take more of the compiled model's time in operators than its "
    "arithmetic; at the large batch less",
)

# %%
# Reading the profiles
# --------------------
# Compiling removed the ReLU operator: at both batch sizes the compiled model calls no
# ``aten::clamp_min``, because the ReLU now runs inside the code the compiler
# generated, the ``CompiledFxGraph`` row. The matrix products are still
# ``aten::addmm``, the operator eager PyTorch calls. Every call also passes through
# wrappers: the ``TorchDynamo Cache Lookup`` evaluates the guards, and the
# ``Torch-Compiled Region`` enters the code they select. At batch 1 those wrappers
# take more of the compiled model's self time in operators than its arithmetic; at
# the large batch, less. So for a model of two matrix products, compiling has little
# to fuse, and at batch 1 it adds a fixed cost to every call. Whether it is faster or
# slower, and by how much, is for a timing to say: the next page times it with eager
# PyTorch, the exported model, ONNX Runtime and int8, in one table.
torch.set_num_threads(default_threads)  # as it was, for whatever runs next in this process
