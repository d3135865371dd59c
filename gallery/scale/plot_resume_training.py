r"""
Resuming a training run exactly
===============================

A checkpoint that holds only the weights lets a stopped run start again; it does not
let it carry on as if nothing had happened. This page trains a small network, stops it
halfway as a crash would, resumes it from the checkpoint, and shows:

* what a resumed run needs besides the weights: the optimizer, the learning rate
  schedule, the random number generators and the epoch;
* that the resumed run ends bit for bit where a run that never stopped ends, compared
  with :func:`torch.equal` on every parameter;
* that a run resumed without the random states ends elsewhere.

How to write such a file so that a crash cannot destroy it, and how to load it
safely, is the subject of :ref:`sphx_glr_auto_examples_scale_plot_checkpoints.py`.
"""

# %%
# Setup
# -----
# A small network with dropout fits noisy samples of :math:`\sin(2\pi x)`. Dropout
# and the shuffled batches both draw random numbers, so a resumed run can only repeat
# the original if it restores those random states too.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from pytorch_examples.checkpoints import save_atomically
from pytorch_examples.claims import check
from pytorch_examples.data.synthetic import make_sine_data
from pytorch_examples.reporting import format_table

SEED = 0
N_POINTS = 256
NOISE_STD = 0.1
HIDDEN = 32
DROPOUT = 0.1
BATCH_SIZE = 32
LEARNING_RATE = 0.01
LR_HALVING_EPOCHS = 4  # the scheduler halves the learning rate this often
N_EPOCHS = 12
STOP_AFTER = 5  # the interrupted run stops after this many epochs

x, y = make_sine_data(N_POINTS, noise_std=NOISE_STD, seed=SEED)
dataset = TensorDataset(x.unsqueeze(1), y.unsqueeze(1))
workdir = tempfile.TemporaryDirectory()  # every file this page writes goes here
WORK = Path(workdir.name)


def make_model(hidden: int = HIDDEN) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(1, hidden), nn.Tanh(), nn.Dropout(DROPOUT), nn.Linear(hidden, 1)
    )


# %%
# What a resumed run needs
# ------------------------
# Besides the weights, a run carries state that decides its next steps: Adam's running
# moments, the scheduler's position, the global generator that dropout draws from,
# and the generator that shuffles the data. The checkpoint holds all of it, as
# ``state_dict`` objects and tensors, so that it loads with ``weights_only=True``.
# :func:`~pytorch_examples.checkpoints.save_atomically` saves it as the previous page
# teaches: to a temporary file, flushed to the disk and renamed over the checkpoint,
# and removed if the save fails.


def new_run(seed: int) -> dict:
    """A fresh model, optimizer, schedule and data order, all from one seed."""
    torch.manual_seed(seed)  # the initial weights and dropout
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, LR_HALVING_EPOCHS, gamma=0.5)
    order = torch.Generator().manual_seed(seed)
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, generator=order)
    return {
        "model": model,
        "optimizer": optimizer,
        "scheduler": scheduler,
        "order": order,
        "loader": loader,
        "epoch": 0,
        "losses": [],
    }


def checkpoint_state(run: dict) -> dict:
    return {
        "epoch": run["epoch"],
        "model": run["model"].state_dict(),
        "optimizer": run["optimizer"].state_dict(),
        "scheduler": run["scheduler"].state_dict(),
        "torch_rng": torch.get_rng_state(),  # and torch.cuda.get_rng_state_all() on GPUs
        "data_order_rng": run["order"].get_state(),
    }


def restore(run: dict, state: dict, random_states: bool = True) -> None:
    run["model"].load_state_dict(state["model"])
    run["optimizer"].load_state_dict(state["optimizer"])
    run["scheduler"].load_state_dict(state["scheduler"])
    run["epoch"] = state["epoch"]
    if random_states:
        torch.set_rng_state(state["torch_rng"])
        run["order"].set_state(state["data_order_rng"])


# %%
# Training, stopping and resuming
# -------------------------------
# The loop saves a checkpoint after every epoch. The first run trains all
# ``N_EPOCHS``; the second stops after ``STOP_AFTER``, as if the machine had died.
# A new run, started from a different seed so that nothing carries over by accident,
# then loads the checkpoint and trains to the end.


def train(run: dict, until_epoch: int, checkpoint: Path | None = None) -> None:
    model, optimizer = run["model"], run["optimizer"]
    while run["epoch"] < until_epoch:
        model.train()
        for inputs, targets in run["loader"]:
            loss = nn.functional.mse_loss(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run["losses"].append(loss.item())
        run["scheduler"].step()
        run["epoch"] += 1
        if checkpoint is not None:
            save_atomically(checkpoint_state(run), checkpoint)


checkpoint = WORK / "checkpoint.pt"
uninterrupted = new_run(SEED)
train(uninterrupted, N_EPOCHS)

interrupted = new_run(SEED)
train(interrupted, STOP_AFTER, checkpoint)
losses_before_stop = interrupted["losses"]
del interrupted  # the crash: only the file survives

state_at_stop = torch.load(checkpoint, weights_only=True)
summary = {
    "epoch": state_at_stop["epoch"],
    "model": f"{len(state_at_stop['model'])} tensors",
    "optimizer": f"moments of {len(state_at_stop['optimizer']['state'])} tensors, "
    f"lr {state_at_stop['optimizer']['param_groups'][0]['lr']}",
    "scheduler": f"{state_at_stop['scheduler']['last_epoch']} epochs stepped",
    "torch_rng": f"{state_at_stop['torch_rng'].numel()} bytes",
    "data_order_rng": f"{state_at_stop['data_order_rng'].numel()} bytes",
}
print(format_table(["entry", "holds"], list(summary.items())))

resumed = new_run(SEED + 1)
# A fresh copy: the optimizer adopts the loaded tensors and updates them in place.
restore(resumed, torch.load(checkpoint, weights_only=True))
print(f"resumed after epoch {resumed['epoch']} of {N_EPOCHS}")
train(resumed, N_EPOCHS, checkpoint)

# %%
# Every parameter of the resumed run equals the uninterrupted run's, compared with
# :func:`torch.equal`, which demands the same shape and the same bits.
final, reference = resumed["model"].state_dict(), uninterrupted["model"].state_dict()
rows = [
    (name, tuple(tensor.shape), torch.equal(tensor, reference[name]))
    for name, tensor in final.items()
]
print(format_table(["parameter", "shape", "torch.equal"], rows))
check(
    all(equal for *_, equal in rows),
    "the resumed run ends bit for bit equal to the run that never stopped",
)

# %%
# This holds on the CPU, where this page runs. On a GPU, restoring the state is not
# enough: some CUDA kernels add in an order that varies from run to run, and with
# ``torch.backends.cudnn.benchmark = True`` cuDNN picks its algorithms by timing them.
# A bit-identical resume there also needs ``torch.use_deterministic_algorithms(True)``,
# which switches to deterministic kernels and raises where an operation has none,
# ``cudnn.benchmark`` left at ``False``, its default, and the GPU generators saved and
# restored (``torch.cuda.get_rng_state_all``), and the same GPU model with the same
# CUDA, cuDNN and torch versions, since kernels differ between them. Older PyTorch
# releases also required the environment variable ``CUBLAS_WORKSPACE_CONFIG=:4096:8``,
# and the documentation of ``use_deterministic_algorithms`` said so; the installed
# torch's documentation of it no longer names the variable, as the check below shows.
# Set it anyway where the code may meet an older torch.
deterministic_doc = torch.use_deterministic_algorithms.__doc__ or ""
print(
    f"torch {torch.__version__}: use_deterministic_algorithms documented in "
    f"{len(deterministic_doc.splitlines())} lines"
)
check(
    "CUBLAS_WORKSPACE_CONFIG" not in deterministic_doc and "deterministic" in deterministic_doc,
    "the installed torch's documentation of use_deterministic_algorithms no longer names "
    "CUBLAS_WORKSPACE_CONFIG",
)

# %%
# The random states matter. A run that restores everything but the two generators
# draws other batches and other dropout masks after the restart, and ends elsewhere.
no_rng = new_run(SEED + 1)
restore(no_rng, state_at_stop, random_states=False)
train(no_rng, N_EPOCHS)
no_rng_gap = max(
    (tensor - reference[name]).abs().max().item()
    for name, tensor in no_rng["model"].state_dict().items()
)
print(f"largest parameter difference without the random states: {no_rng_gap:.2e}")
check(no_rng_gap > 0, "without the random states the resumed run ends elsewhere")

steps = range(1, len(uninterrupted["losses"]) + 1)
restart = len(losses_before_stop)
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(steps, uninterrupted["losses"], color="0.6", lw=3, label="never stopped")
ax.plot(steps[restart:], resumed["losses"], "--", color="C0", label="resumed")
ax.plot(
    steps[restart:], no_rng["losses"], color="C3", lw=1, label="resumed without the random states"
)
ax.axvline(restart + 0.5, color="k", lw=0.8)
ax.set(
    xlabel="step",
    ylabel="mini-batch loss",
    yscale="log",
    title=f"stopped after epoch {STOP_AFTER}, resumed from the checkpoint",
)
ax.legend()
fig.tight_layout()
plt.show()
workdir.cleanup()
