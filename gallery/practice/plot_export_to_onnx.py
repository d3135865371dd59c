r"""
Shippable: torch.export, ONNX and ONNX Runtime
==============================================

A trained model has to run somewhere without the Python code that defined it. This page
takes the digits MLP that :doc:`plot_compile_and_profile` trained and saved, and turns
it into two files that run without that code. You will learn:

* how :func:`torch.export.export` captures the model ahead of time as a graph, with a
  dynamic batch size, and how the program is saved and loaded;
* how that program becomes an ONNX file that ONNX Runtime runs without PyTorch;
* how to check that each form gives the model's answers, within a tolerance stated
  before the result, and why one image at a time can differ from a batch, even in
  eager PyTorch.

Run :doc:`plot_compile_and_profile` first; without what it saved, this page stops and
says so. :doc:`plot_quantize_and_time` then makes an int8 copy of the ONNX file, times
every form of the model and ships one.
"""

# %%
# Setup
# -----
# The first page saved the trained weights, the network's width and the seed of its
# data split; the page rebuilds the network, loads the weights, and checks that it
# scores the validation loss the first page saved. PyTorch and ONNX Runtime both run on
# ``N_THREADS`` threads, as on the first page.
import math

import onnx
import onnxruntime
import torch
from torch import nn

from pytorch_examples.claims import check
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import evaluate
from pytorch_examples.reporting import format_table
from pytorch_examples.results import MissingResultsError, results_dir

SAVED_FILE = "shipping_mlp.pt"  # written by plot_compile_and_profile.py
PROGRAM_FILE = "shipping_mlp.pt2"  # written here, read by plot_quantize_and_time.py
ONNX_FILE = "shipping_mlp.onnx"  # written here, read by plot_quantize_and_time.py
N_THREADS = 1
EXAMPLE_BATCH = 8  # the example input the model is exported with

saved = results_dir() / SAVED_FILE
if not saved.exists():
    raise MissingResultsError(
        f"{saved} does not exist. Run plot_compile_and_profile.py first: it trains the "
        "model this page exports, and saves it there."
    )
first_page = torch.load(saved, weights_only=True)
default_threads = torch.get_num_threads()
torch.set_num_threads(N_THREADS)
data = load_digits_split(seed=first_page["split_seed"])
width = first_page["hidden_units"]
model = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))
model.load_state_dict(first_page["state_dict"])
model.eval()
val_loss = evaluate(model, data.val_x, data.val_y).loss
print(f"validation loss {val_loss:.4f}; saved by the first page {first_page['val_loss']:.4f}")
check(
    math.isclose(val_loss, first_page["val_loss"], rel_tol=1e-6),
    "the loaded model scores the validation loss the first page saved",
)

# %%
# An exported program
# -------------------
# :func:`torch.export.export` runs the forward pass once, ahead of time, on an example
# input, and records it as an ``ExportedProgram``: a graph of ATen operators with the
# weights as inputs (its signature, printed below, lists them). The batch dimension is
# declared dynamic, so the program accepts any batch size. The example batch has
# ``EXAMPLE_BATCH`` images because export treats sizes 0 and 1 as constants: given one
# image, it refuses the dynamic batch it was asked for, with the error printed below.
# The program is saved as one file and loaded back as a module that checks its input's
# shape: an image one pixel short is rejected.
files = {"program": results_dir() / PROGRAM_FILE, "onnx": results_dir() / ONNX_FILE}
batch_size = torch.export.Dim("batch_size")
example = (data.val_x[:EXAMPLE_BATCH],)
exported = torch.export.export(model, example, dynamic_shapes=({0: batch_size},))
print(exported.graph_signature)
refused = "nothing: exported"
try:
    torch.export.export(model, (data.val_x[:1],), dynamic_shapes=({0: batch_size},))
except RuntimeError as refusal:  # a UserError of torch._dynamo
    refused = str(refusal).splitlines()[0]
    print(f"an example of one image: {refused}")
check("Constraints violated (batch_size)" in refused, "given one image, export refuses")
torch.export.save(exported, files["program"])
loaded = torch.export.load(files["program"]).module()
try:
    loaded(torch.zeros(EXAMPLE_BATCH, 63))  # one pixel short: not the exported shape
    rejection = None
except AssertionError as error:
    rejection = str(error)
print(f"an image of 63 pixels: rejected: {rejection}")
check(rejection is not None, "an image one pixel short is rejected")

# %%
# ONNX, run by ONNX Runtime
# -------------------------
# ``torch.onnx.export`` translates the exported program into ONNX, a file format that
# ONNX Runtime, among others, runs without PyTorch. The file holds the graph, the
# weights and the input's shape, with the batch dimension still a name rather than a
# number. ONNX Runtime runs it in an ``InferenceSession``, on NumPy arrays, with the
# same number of threads as PyTorch.
torch.onnx.export(exported, verbose=False).save(files["onnx"])  # quiet: no progress
graph = onnx.load(files["onnx"]).graph
dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
print(f"ONNX input {graph.input[0].name}: {dims}; nodes:", [node.op_type for node in graph.node])
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = N_THREADS
session = onnxruntime.InferenceSession(files["onnx"], options, providers=["CPUExecutionProvider"])


def onnx_runtime(images: torch.Tensor) -> torch.Tensor:
    """The logits ONNX Runtime computes for a batch of images."""
    logits = session.run(None, {graph.input[0].name: images.numpy()})[0]
    return torch.from_numpy(logits)


# %%
# Same answers?
# -------------
# Each form scores the validation images all at once (a batch size the export never
# saw) and one at a time, and is compared with eager PyTorch's logits for the whole
# batch: the largest difference in any logit, and how many predictions changed. The
# tolerance is fixed first, from float32's precision: reordering a sum can change each
# addition by one rounding, float32's ``eps`` times the partial sum. ``TOLERANCE``
# counts one rounding at the size of the largest logit for each input of the two layers
# (64 and 128). It is a rule of thumb, not a worst-case bound: every hidden unit's own
# 64 additions reach each logit, and partial sums can exceed the logit they cancel to,
# so the worst case is larger. Rounding errors mostly cancel, though, and the line under
# the table gives the largest difference in these units: far below the tolerance, which
# is in turn far below a change of arithmetic such as int8's on the next page.
runtimes = {"eager": model, "exported": loaded, "ONNX Runtime": onnx_runtime}
with torch.inference_mode():
    reference = model(data.val_x)
eps, largest_logit = torch.finfo(torch.float32).eps, reference.abs().max().item()
additions = model[0].in_features + model[2].in_features
TOLERANCE = additions * eps * largest_logit  # largest difference for "the same model"
print(
    f"tolerance {TOLERANCE:.1e}: {model[0].in_features} + {model[2].in_features} additions × "
    f"float32's eps {eps:.1e} × largest |logit| {largest_logit:.1f}"
)
with torch.inference_mode():
    together = {name: run(data.val_x) for name, run in runtimes.items()}
    alone = {
        name: torch.cat([run(x) for x in data.val_x.split(1)]) for name, run in runtimes.items()
    }
agreement, rows = {}, []
for name in runtimes:
    agreement[name] = [
        (logits[name] - reference).abs().max().item() for logits in (together, alone)
    ]
    changed = [
        int((logits[name].argmax(1) != reference.argmax(1)).sum()) for logits in (together, alone)
    ]
    rows.append([name, *(f"{d:.1e}" for d in agreement[name]), *changed])
print(f"against eager's logits on {len(data.val_y)} validation images, tolerance {TOLERANCE:.1e}")
header = ["runtime", "max |Δ|, together", "alone", "changed predictions, together", "alone"]
print(format_table(header, rows))
largest = max(max(gaps) for gaps in agreement.values())
print(f"largest difference: {largest / (eps * largest_logit):.1f} × eps × largest |logit|")
check(
    all(max(agreement[name]) <= TOLERANCE for name in ("exported", "ONNX Runtime")),
    "the exported and ONNX Runtime models give eager's logits within the tolerance, "
    "all at once and one at a time",
)
check(
    agreement["exported"][0] == 0, "all at once, the exported model gives exactly eager's logits"
)

# %%
# Reading the table
# -----------------
# Both files agree with eager PyTorch within the tolerance. All at once, the exported
# program gives exactly eager's logits: its graph calls the same ``aten::addmm`` on the
# same shapes. ONNX Runtime runs its own kernels, which add the products in another
# order, so its logits differ by rounding. One image at a time the logits can differ
# even for eager (its own row), because the matrix-product routine orders its sums by
# the shape it is given. All of it is rounding, inside the tolerance; the next page's
# int8 copy differs beyond it, and is judged on its accuracy instead.
print(f"saved for the next page: {files['program'].name}, {files['onnx'].name}")
torch.set_num_threads(default_threads)  # as it was, for whatever runs next in this process
