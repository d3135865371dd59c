r"""
Shippable: export, ONNX Runtime and int8, timed
===============================================

A trained model has to run somewhere without the Python code that defined it, and
answer quickly there. This page takes the digits MLP of
:doc:`/auto_examples/classification/plot_digits_mlp` again, as
:doc:`/auto_examples/practice/plot_fast_and_shippable` did, and ships it. You will
learn:

* how :func:`torch.export.export` captures the model as a graph, and how that graph
  becomes an ONNX file that ONNX Runtime runs without PyTorch;
* how dynamic int8 quantization shrinks the linear layers, and what it costs in accuracy;
* how to check that each form of the model gives the same answers, within a stated
  tolerance;
* how to time them fairly, next to eager and compiled PyTorch: latency at batch 1,
  throughput at a large batch, the median of repeats, and every speed-up with its noise.
"""

# %%
# Setup
# -----
# The model and its training are the previous page's: the digits page's MLP and
# recipe, ``N_EPOCHS`` epochs, keeping the weights of the epoch with the lowest
# validation loss (repeated here so that this page runs on its own). Every runtime
# gets the same number of threads, ``N_THREADS``, so the comparison is about the code
# each runs, not how it spreads work over cores.
import copy
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import accuracy_difference, timing_difference
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import evaluate
from pytorch_examples.reporting import format_table

SEED = 0
HIDDEN_UNITS = 128
N_EPOCHS = 60
BATCH_SIZE = 64
LEARNING_RATE = 3e-2
WEIGHT_DECAY = 1e-4
N_THREADS = 1
LARGE_BATCH = 4096  # images per call for throughput
EXAMPLE_BATCH = 8  # the example input the model is exported with
N_REPEATS = 25  # timed repeats per runtime and batch size
CALLS_AT_BATCH_1 = 200  # calls per repeat at batch 1
CALLS_AT_LARGE_BATCH = 5  # calls per repeat at the large batch
TOLERANCE = 1e-4  # largest difference in a logit accepted as "the same model"

torch.manual_seed(SEED)
default_threads = torch.get_num_threads()
torch.set_num_threads(N_THREADS)
print(f"threads for PyTorch and ONNX Runtime: {N_THREADS}")
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
one_image, large_batch = data.val_x[:1], data.val_x.repeat(LARGE_BATCH // len(data.val_x) + 1, 1)
large_batch = large_batch[:LARGE_BATCH]

# %%
# Compile, export, ONNX
# ---------------------
# The model is compiled as on the previous page. The first call at each new input
# shape compiles; later calls reuse the code. A cache of compiled code, on disk or
# from an earlier compilation in the same process, can make a first call shorter.
compiled = torch.compile(model)
first_call = {}
with torch.inference_mode():
    for images in (one_image, large_batch):
        started = time.perf_counter()
        compiled(images)
        first_call[len(images)] = time.perf_counter() - started
for size, seconds in first_call.items():
    print(f"first call of the compiled model at batch {size}: {seconds:.2f} s")

# %%
# :func:`torch.export.export` captures the forward pass once, ahead of time, as an
# ``ExportedProgram``: a graph of ATen operators with the weights as inputs. The
# batch dimension is declared dynamic, so the program accepts any batch size, and it
# is saved and loaded as one file. ``torch.onnx.export`` translates the same program
# into ONNX, a format that ONNX Runtime, among others, runs without PyTorch.
workdir = tempfile.TemporaryDirectory()  # nothing is written outside it
files = {name: Path(workdir.name) / name for name in ("model.pt2", "model.onnx", "prep.onnx")}
batch_size = torch.export.Dim("batch_size")
example = (data.val_x[:EXAMPLE_BATCH],)
exported = torch.export.export(model, example, dynamic_shapes=({0: batch_size},))
print(exported.graph_signature)
torch.export.save(exported, files["model.pt2"])
loaded = torch.export.load(files["model.pt2"]).module()
try:
    loaded(torch.zeros(EXAMPLE_BATCH, 63))  # one pixel short: not the exported shape
except AssertionError as rejection:
    print(f"rejected: {rejection}")
torch.onnx.export(exported, verbose=False).save(files["model.onnx"])  # quiet: no progress

options = onnxruntime.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = N_THREADS


def onnx_runner(path: Path):
    """A function from a batch of images to logits, run by ONNX Runtime."""
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda images: torch.from_numpy(session.run(None, {name: images.numpy()})[0])


# %%
# Dynamic int8 quantization
# -------------------------
# Dynamic quantization stores each weight matrix as 8-bit integers with one scale, and
# at run time maps each layer's input, the whole batch at once, to 8 bits with a scale
# and zero point taken from its range; the matrix product then runs on integers.
# PyTorch's own ``torch.ao.quantization`` is deprecated (its successor is the separate
# torchao package), and the model ships as an ONNX file anyway, so ONNX Runtime's
# quantizer rewrites that file, after its recommended preprocessing (shape inference
# and graph clean-up).
files["int8.onnx"] = Path(workdir.name) / "int8.onnx"
quant_pre_process(files["model.onnx"], files["prep.onnx"])
quantize_dynamic(files["prep.onnx"], files["int8.onnx"], weight_type=QuantType.QInt8)
int8_graph = onnx.load(files["int8.onnx"]).graph
print("int8 graph:", ", ".join(dict.fromkeys(node.op_type for node in int8_graph.node)))
sizes = {name: files[name].stat().st_size for name in ("model.onnx", "int8.onnx")}
print(f"file size: {sizes['model.onnx']:,} bytes in float32, {sizes['int8.onnx']:,} in int8")

runtimes = {
    "eager": model,
    "compiled": compiled,
    "exported": loaded,
    "ONNX Runtime": onnx_runner(files["model.onnx"]),
    "ONNX Runtime int8": onnx_runner(files["int8.onnx"]),
}

# %%
# Same answers?
# -------------
# Every runtime scores the validation images, all at once (a batch size the export
# never saw) and one at a time. Dynamic quantization picks its activation scale from
# the whole batch, so an image's int8 logits depend on the images beside it.
with torch.inference_mode():
    reference = model(data.val_x)
    together = {name: run(data.val_x) for name, run in runtimes.items()}
    alone = {
        name: torch.cat([run(x) for x in data.val_x.split(1)]) for name, run in runtimes.items()
    }
predictions = {name: logits.argmax(dim=1) for name, logits in together.items()}
changed = {name: int((p != reference.argmax(dim=1)).sum()) for name, p in predictions.items()}
agreement = {  # the largest difference from eager's logits, all at once and one at a time
    name: [(logits[name] - reference).abs().max().item() for logits in (together, alone)]
    for name in runtimes
}
accuracy = {name: (p == data.val_y).float().mean().item() for name, p in predictions.items()}
rows = [[name, *agreement[name], changed[name], accuracy[name]] for name in runtimes]
header = ["runtime", "max |Δ| together", "max |Δ| alone", "predictions changed", "accuracy"]
print(f"logits against eager on {len(data.val_y)} validation images, tolerance {TOLERANCE:g}")
print(format_table(header, rows, digits=6))
check(
    all(max(agreement[name]) <= TOLERANCE for name in ("compiled", "exported", "ONNX Runtime")),
    "the compiled, exported and ONNX Runtime models give eager's logits within the tolerance",
)
int8_cost = accuracy_difference(predictions["ONNX Runtime int8"], predictions["eager"], data.val_y)
print("accuracy:", int8_cost.describe("int8", "eager"))
check(
    max(agreement["ONNX Runtime int8"]) > TOLERANCE and int8_cost.within_noise(),
    "the int8 logits differ beyond the tolerance, but its validation accuracy is within "
    "noise of eager's",
)
int8_alone = (alone["ONNX Runtime int8"] - together["ONNX Runtime int8"]).abs().max().item()
print(f"int8 logits, one at a time against all at once: max |Δ| {int8_alone:.6f}")
check(int8_alone > TOLERANCE, "an image's int8 logits change with the batch it is in")

# %%
# The float runtimes agree with eager within the tolerance: they compute the same
# products, in another order. The int8 model changes the logits by more, which can
# flip a prediction, but its validation accuracy is within noise of eager's. That
# standard error counts the validation images, not retraining.
#
# How fast?
# ---------
# Each repeat times ``CALLS_AT_BATCH_1`` calls with one image and
# ``CALLS_AT_LARGE_BATCH`` calls with ``LARGE_BATCH`` images, for every runtime in
# turn, so that a change of load on the machine falls on all of them alike. The table
# gives the median of ``N_REPEATS`` repeats. A speed-up is eager's time over the
# runtime's, from the difference of mean log-times and its standard error
# (:func:`~pytorch_examples.comparison.timing_difference`): a ratio of geometric
# means, not of the table's medians. Within noise, it is a tie.


def time_per_call(run, images: torch.Tensor, calls: int) -> float:
    """Seconds per call of ``run(images)``, averaged over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        run(images)
    return (time.perf_counter() - started) / calls


settings = {"batch 1": (one_image, CALLS_AT_BATCH_1), "large": (large_batch, CALLS_AT_LARGE_BATCH)}
times = {(name, size): [] for name in runtimes for size in settings}
with torch.inference_mode():
    for run in runtimes.values():  # warm up: first calls, caches
        time_per_call(run, one_image, 3)
        time_per_call(run, large_batch, 1)
    for _ in range(N_REPEATS):
        for name, run in runtimes.items():
            for size, (images, calls) in settings.items():
                times[name, size].append(time_per_call(run, images, calls))


def speed_up(name: str, size: str) -> tuple[str, str]:
    """Eager's time over ``name``'s with its standard error, and the verdict."""
    gap = timing_difference(np.log(times["eager", size]), np.log(times[name, size]))
    verdict = "faster" if gap.a_higher() else "slower" if gap.a_lower() else "tie"
    ratio = math.exp(gap.difference)
    return f"{ratio:.2f} ± {ratio * gap.standard_error:.2f} {verdict}", verdict


table, verdicts = [], {}
for name in runtimes:
    latency = statistics.median(times[name, "batch 1"]) * 1e6
    throughput = LARGE_BATCH / statistics.median(times[name, "large"])
    ratios = [speed_up(name, size) if name != "eager" else ("reference", "") for size in settings]
    verdicts[name] = [verdict for _, verdict in ratios]
    table.append([name, f"{latency:.1f}", ratios[0][0], f"{throughput:,.0f}", ratios[1][0]])
print(f"median of {N_REPEATS} repeats; speed-up over eager ± one standard error")
header = ["runtime", "batch 1 (µs)", "speed-up", f"batch {LARGE_BATCH} (images/s)", "speed-up"]
print(format_table(header, table))
check(
    verdicts["ONNX Runtime"] == ["faster", "faster"]
    and verdicts["ONNX Runtime int8"][1] == "faster",
    "ONNX Runtime is faster than eager at both batch sizes, and so is its int8 model at "
    "the large batch",
)
int8_gain = timing_difference(
    np.log(times["ONNX Runtime", "large"]), np.log(times["ONNX Runtime int8", "large"])
)
print(f"int8 over float32 ONNX at batch {LARGE_BATCH}: {math.exp(int8_gain.difference):.2f}")
print("  log-time", int8_gain.describe("float32", "int8", digits=3))
check(int8_gain.a_higher(), "at the large batch the int8 model is faster than the float32 one")
check(
    verdicts["compiled"][0] != "faster" and verdicts["exported"][0] == "slower",
    "at batch 1 the compiled model is not faster than eager, and the exported one is slower",
)
steady_calls = first_call[1] / statistics.median(times["compiled", "batch 1"])
print(f"the compiled model's first call at batch 1 took as long as {steady_calls:,.0f} later ones")

# %%
# Reading the table
# -----------------
# The verdicts are this build's, on its processor, with its load; another machine can
# rank the runtimes differently, which is why the page measures rather than asserts.
# On this build ONNX Runtime is faster than eager PyTorch at both batch sizes, and at
# the large batch its int8 model is faster than its float32 one: each weight and
# activation it multiplies is one byte instead of four. At batch 1 neither the
# compiled nor the exported model is faster than eager; the exported one is slower.
# Both add work to each call: the previous page's profile shows the wrappers around
# the compiled code, and the loaded program checks the input against the shapes it
# was exported for, as the rejected input above showed. For a model of two matrix
# products, :func:`torch.compile` has little to fuse to pay that back. Its first call
# compiles, unless a cache already holds the code for the same graph: on disk from an
# earlier run, or in the same process, as when the site's build ran the previous page
# just before this one; the ratio printed above depends on which. ``torch.export``
# is a step towards shipping (to ONNX here), not a faster way to run the model in
# Python.
#
# Ship and test once
# ------------------
# The choice, made on validation by a rule fixed before the timings: ship the int8
# model if its accuracy is within noise of eager's and it is faster than the float32
# ONNX model at the large batch; otherwise the float32 one. Only now is the test set
# scored, once.
ship_int8 = int8_cost.within_noise() and int8_gain.a_higher()
shipped = "ONNX Runtime int8" if ship_int8 else "ONNX Runtime"
test_accuracy = (runtimes[shipped](data.test_x).argmax(dim=1) == data.test_y).float().mean().item()
error = math.sqrt(test_accuracy * (1 - test_accuracy) / len(data.test_y))
print(f"shipped: {shipped}; test accuracy {test_accuracy:.4f} ± {error:.4f}, scored once")
workdir.cleanup()
torch.set_num_threads(default_threads)  # as it was, for whatever runs next in this process
