r"""
Fast: where the time goes, with torch.profiler and torch.compile
================================================================

Before making a model faster, find out what its time is spent on. This page trains the
digits MLP of :doc:`/auto_examples/classification/plot_digits_mlp` and reads its forward
pass with :mod:`torch.profiler`, before and after :func:`torch.compile`. You will learn:

* how to profile a forward pass, and read the profiler's table: self time, total
  time, calls;
* why one image and a large batch spend their time in different places;
* what compiling changes in the profile, and what it adds to every call.

The model it trains is the one the next two pages ship: :doc:`plot_export_to_onnx`
exports it, and :doc:`plot_quantize_and_time` quantizes it and times every form of it.
"""

# %%
# Setup
# -----
# The network and its training settings are the digits page's, given: these pages make
# a trained model fast and ship it, not better. So is the choice of epoch, by early
# stopping on validation: keep the epoch of lowest validation loss, stop ``PATIENCE``
# epochs after it. The cap, ``N_EPOCHS``, is lower than that page's, for the build's time;
# the page checks that training stopped before it. Unlike there, the model is not
# retrained on training and validation images together: the later pages still need
# validation images it has not seen. PyTorch runs on ``N_THREADS`` threads, fixed so that
# profiles and timings are of the code, not of how it spreads work over the shared cores;
# ``LARGE_BATCH``, also fixed, stands for offline scoring, the other regime.
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
from pytorch_examples.results import results_dir

SEED = 0
HIDDEN_UNITS = 128
N_EPOCHS = 60  # a cap: early stopping should end training before it
PATIENCE = 20  # epochs without a new lowest validation loss before training stops
BATCH_SIZE = 64
LEARNING_RATE = 3e-2
WEIGHT_DECAY = 1e-4
N_THREADS = 1
LARGE_BATCH = 4096  # images in the large batch
PROFILED_CALLS = (2000, 100)  # forward passes recorded at batch 1 and at the large batch
SAVED_FILE = "shipping_mlp.pt"  # read by plot_export_to_onnx.py and plot_quantize_and_time.py

torch.manual_seed(SEED)
default_threads = torch.get_num_threads()
torch.set_num_threads(N_THREADS)
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
    if epoch - best_epoch == PATIENCE:
        break
model.load_state_dict(best_state)
model.eval()
print(f"best validation epoch {best_epoch}, stopped after epoch {epoch}; loss {best_loss:.4f}")
check(epoch < N_EPOCHS, "training stopped early, before the cap")
saved = results_dir() / SAVED_FILE
saved.parent.mkdir(parents=True, exist_ok=True)
shipped = {"state_dict": best_state, "hidden_units": HIDDEN_UNITS, "split_seed": SEED}
torch.save({**shipped, "val_loss": best_loss}, saved)
print(f"saved for the next pages: {saved.name}")
n_weights = sum(layer.weight.numel() for layer in model if isinstance(layer, nn.Linear))
print(f"{n_weights:,} weights: one multiply-add each per image")
one_image, large_batch = data.val_x[:1], data.val_x.repeat(LARGE_BATCH // len(data.val_x) + 1, 1)
large_batch = large_batch[:LARGE_BATCH]

# %%
# Where does the time go?
# -----------------------
# :class:`torch.profiler.profile` records every operator the forward pass calls, with
# the CPU time spent in it; its ``schedule`` leaves the first steps out
# (``profiler.step()`` ends each), so that starting the profiler is not counted. The
# table sorts operators by their *self* time, which excludes the operators they call:
# ``aten::linear`` only dispatches to ``aten::addmm``, the matrix product with the bias,
# and to ``aten::t``, a transposed view of the weight; ``# of Calls`` shows two
# ``aten::addmm`` per step, one per layer. The row ``ProfilerStep*`` is the step itself:
# its self time is everything outside the recorded operators (the Python of the module
# calls, the profiler's own work). Its share is printed below the table and left out of
# the shares and the figure, which divide the self time spent in operators. Each
# operator is of one kind: arithmetic; the ``aten::copy_`` with which ``aten::addmm``
# writes the bias into every row of its output before adding the product; dispatching,
# making a view or allocating; once compiled, the generated code and its wrappers.
KINDS = {"aten::addmm": "arithmetic", "aten::clamp_min": "arithmetic", "aten::copy_": "copy"}
WRAPPERS = ("Torch-Compiled Region", "TorchDynamo Cache Lookup", "Pregraph", "AOTDispatcher")
COLORS = {"arithmetic": "C0", "copy": "C4", "dispatch or view": "C1"}
COLORS |= {"generated code": "C2", "wrapper": "C3"}


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
    with torch.inference_mode():
        run(images)  # a warm-up call: first-call costs stay out of the timing below
        started = time.perf_counter()
        for _ in range(calls):
            run(images)
        unprofiled = (time.perf_counter() - started) / calls
        steps = schedule(wait=1, warmup=1, active=calls)
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


def profile_by_kind(name: str, run) -> None:
    """Profile ``run`` at both batch sizes; print and keep the shares of each kind."""
    for size, images in sizes.items():
        shares[name, size] = share = profile_forward(run, images, calls[size])
        part = {k: sum(s for o, s in share.items() if kind(o) == k) for k in COLORS}
        by_kind[name, size] = part
        print(f"{name}, {size}:", ", ".join(f"{k} {s:.0%}" for k, s in part.items()))


CPU = ProfilerActivity.CPU
large = f"batch {LARGE_BATCH}"
sizes = {"batch 1": one_image, large: large_batch}
calls = dict(zip(sizes, PROFILED_CALLS, strict=True))
shares, by_kind = {}, {}
profile_by_kind("eager", model)
check(
    by_kind["eager", "batch 1"]["dispatch or view"] > 0.25
    and by_kind["eager", large]["dispatch or view"] < 0.1,
    "at batch 1 more than a quarter of the self time in operators goes to those that "
    "compute nothing; at the large batch less than a tenth",
)

# %%
# With one image, the arithmetic is fewer than ten thousand multiply-adds, and the cost
# of calling each operator (which the profiler inflates by recording it: see the ratio
# under each table) is a large share: more than a quarter of the self time in operators
# goes to those that compute nothing. With a large batch the matrix products, the ReLU
# (``aten::clamp_min``) and the bias copy take almost all of it. So the two regimes ask
# for different cures: fewer, cheaper calls at batch 1, faster arithmetic at a large one.
#
# Compiled
# --------
# :func:`torch.compile` traces the model into a graph and generates code for it on its
# first call. A call with another batch size fails that code's checks (its *guards*)
# and compiles once more, with the batch dimension symbolic: by PyTorch's default
# *automatic dynamic shapes*, that code accepts any batch size of two or more, while
# batch 1 keeps its own. The ``Torch-Compiled Region`` rows name the two as frame and
# compilation (``0/0`` and ``0/1`` in a fresh process). Calls at three batch sizes not
# seen before show that they compile nothing more; then the profiles:
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
profile_by_kind("compiled", compiled)
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
fig.supxlabel("share of the self time spent in operators (ProfilerStep* excluded)", fontsize=10)
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
# ``aten::clamp_min``, because the ReLU now runs inside the generated code, the
# ``CompiledFxGraph`` row. The matrix products are still ``aten::addmm``, as in eager
# PyTorch. Every call also passes through wrappers: the ``TorchDynamo Cache Lookup``
# evaluates the guards, the ``Torch-Compiled Region`` enters the code they select. At
# batch 1 they take more of the compiled model's self time in operators than its
# arithmetic; at the large batch, less. So for two matrix products compiling has little
# to fuse, and it adds a cost to every call, which at batch 1 outweighs the arithmetic.
# Whether it is faster, and by how much, is for a timing to say:
# :doc:`plot_quantize_and_time` times it with eager PyTorch, the exported model, ONNX
# Runtime and int8, in one table.
torch.set_num_threads(default_threads)  # as it was, for whatever runs next in this process
