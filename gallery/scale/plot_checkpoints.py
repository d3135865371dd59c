r"""
Checkpoints: saving and loading safely
======================================

A long run saves checkpoints, so that a crash, a preempted job or a reboot costs only
the work done since the last one. A checkpoint helps only if it loads, and loading it
must not endanger the machine. This page trains a small network for a few epochs,
saves a checkpoint after each, and shows:

* why a checkpoint holds ``state_dict`` objects and not the pickled model;
* why to load with ``weights_only=True``: a full unpickle calls any function the file
  names, while ``weights_only=True`` calls only those on an allow-list;
* how to save atomically, so that a crash during a save leaves the previous checkpoint
  intact;
* what a truncated, untrusted or mismatched checkpoint reports when it is loaded.

The next page, :ref:`sphx_glr_auto_examples_scale_plot_resume_training.py`, uses such
checkpoints to resume a stopped run exactly.
"""

# %%
# Setup
# -----
# A small network with dropout fits noisy samples of :math:`\sin(2\pi x)`. Every file
# the page writes goes to a temporary folder, removed at the end.
import importlib
import inspect
import pickle
import sys
import tempfile
from collections import Counter
from itertools import takewhile
from pathlib import Path

import torch
from torch import nn
from torch.serialization import get_safe_globals
from torch.utils.data import DataLoader, TensorDataset

from pytorch_examples.checkpoints import save_atomically
from pytorch_examples.claims import check
from pytorch_examples.data.synthetic import make_sine_data

SEED = 0
N_POINTS = 256
NOISE_STD = 0.1
HIDDEN = 32
DROPOUT = 0.1
BATCH_SIZE = 32
LEARNING_RATE = 0.01
N_EPOCHS = 3

torch.manual_seed(SEED)  # the initial weights, the shuffles and the dropout masks
x, y = make_sine_data(N_POINTS, noise_std=NOISE_STD, seed=SEED)
dataset = TensorDataset(x.unsqueeze(1), y.unsqueeze(1))
workdir = tempfile.TemporaryDirectory()
WORK = Path(workdir.name)


def make_model(hidden: int = HIDDEN) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(1, hidden), nn.Tanh(), nn.Dropout(DROPOUT), nn.Linear(hidden, 1)
    )


# %%
# Save the ``state_dict``, not the model
# --------------------------------------
# ``torch.save(model)`` pickles the module object. A pickle stores a class by its
# import path, not its code, so the file can only be loaded while that class still
# exists under the same module and name. We put the model class in a module file,
# save a model both ways, then rename the class, as a refactoring would.
MODEL_CODE = "from torch import nn\n\nclass Regressor(nn.Sequential):\n    pass\n"
(WORK / "regressor_code.py").write_text(MODEL_CODE)
sys.path.insert(0, str(WORK))
import regressor_code  # the module written just above

whole = regressor_code.Regressor(nn.Linear(1, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1))
torch.save(whole, WORK / "whole_model.pt")
torch.save(whole.state_dict(), WORK / "state_dict.pt")

(WORK / "regressor_code.py").write_text(MODEL_CODE.replace("Regressor", "SineRegressor"))
del sys.modules["regressor_code"]  # forget the old class, as a new process would
importlib.invalidate_caches()
try:
    torch.load(WORK / "whole_model.pt", weights_only=False)
except AttributeError as error:
    print("whole model:", str(error).replace(str(WORK), "WORK"))
SineRegressor = importlib.import_module("regressor_code").SineRegressor
renamed = SineRegressor(nn.Linear(1, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1))
weights = torch.load(WORK / "state_dict.pt", weights_only=True)
print("state_dict:", renamed.load_state_dict(weights))
sys.path.remove(str(WORK))
del sys.modules["regressor_code"]

# %%
# A ``state_dict`` is a dictionary of names and tensors. It loads into any module
# whose parameters have those names and shapes, whatever the class is called.
#
# Why ``weights_only=True``
# -------------------------
# Unpickling calls whatever functions the file names, with arguments from the file.
# An object only has to say, through ``__reduce__``, that it is rebuilt by calling
# ``print`` (or ``os.system``). Here the call is a harmless ``print``.


class RunsOnLoad:
    def __reduce__(self):
        return (print, ("this line was printed by code inside the checkpoint file",))


untrusted = WORK / "untrusted.pt"
torch.save({"weights": whole.state_dict(), "extra": RunsOnLoad()}, untrusted)
try:
    torch.load(untrusted, weights_only=True)
except pickle.UnpicklingError as error:
    print("weights_only=True refuses the file; from torch's message:")
    for line in str(error).splitlines():
        if "Unsupported global" in line or "changed the default" in line:
            print("  ", line.strip().split(". ")[0])
print("weights_only=False runs it:")
torch.load(untrusted, weights_only=False)
safe_globals = get_safe_globals()
added = Counter(item.__module__ for item in safe_globals)
print("allow-list entries added with add_safe_globals, by module:", dict(added))
from_builtins = [item for item in safe_globals if item.__module__ == "builtins"]
print("  builtins among them, for example:", ", ".join(e.__name__ for e in from_builtins[:4]))
check(
    all(isinstance(e, type) and issubclass(e, BaseException) for e in from_builtins),
    "the entries from builtins are all exception classes",
)
c10d_lines = inspect.getsource(torch.distributed.distributed_c10d).splitlines()
call = next(i for i, line in enumerate(c10d_lines) if "add_safe_globals(" in line)
comment = list(takewhile(lambda line: line.startswith("#"), reversed(c10d_lines[:call])))
print("torch.distributed.distributed_c10d, above its add_safe_globals call:")
print("\n".join(f"  {line}" for line in reversed(comment)))

# %%
# ``weights_only=True`` does not stop :func:`torch.load` from calling functions the
# file names: it calls only those on an allow-list, which holds torch's functions that
# rebuild tensors, a few types (``OrderedDict``, ``set``, ``torch.Size``, the dtypes)
# and what :func:`torch.serialization.add_safe_globals` adds, counted by module above.
# Those from ``builtins`` are exception classes, which the ``torch.distributed`` source
# printed above registers, for the reason its comment gives; the
# counts depend on which torch modules are imported. ``print`` is not on the list.
# ``weights_only=True`` has been the default since PyTorch 2.6, as torch's message
# says; this page passes it anyway, because earlier versions, and the environment
# variable ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, make ``False`` the default.
# ``weights_only=False`` is for files you trust as you trust code you run.
#
# The allow-list protects only as well as the unpickler enforces it, and crafted files
# have got past it: with ``weights_only=True``, `CVE-2025-32434
# <https://nvd.nist.gov/vuln/detail/CVE-2025-32434>`__ ran code in PyTorch up to
# ``2.5.1`` (fixed in ``2.6.0``), and `CVE-2026-24747
# <https://nvd.nist.gov/vuln/detail/CVE-2026-24747>`__ could corrupt memory, a
# possible way to run code, before ``2.10.0``. Keep torch up to date (this project
# requires ``2.14``). Take weights from a source you do not trust in a format with
# no functions to call, such as `safetensors <https://huggingface.co/docs/safetensors/index>`__,
# which stores tensors and a JSON header and nothing else.
#
# Saving atomically
# -----------------
# A training checkpoint holds the ``state_dict`` of the model and of the optimizer
# (Adam's running moments) and the epoch. ``torch.save(state, path)`` first empties
# ``path`` and then writes it; a crash in between leaves neither the old checkpoint nor
# the new one. Writing to a temporary file in the same folder and renaming it over the
# checkpoint avoids that: :func:`os.replace` swaps the file in one step, so ``path``
# always holds a complete checkpoint, the old one or the new one.
# :func:`~pytorch_examples.checkpoints.save_atomically` does this, with two more
# steps: ``os.fsync`` puts the bytes on the disk before the rename, and if the save
# fails, the temporary file is removed. It is in the library because the next page
# and the distributed training scripts save with it too; its code:
print(inspect.getsource(save_atomically))


def checkpoint_state(model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int) -> dict:
    return {"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}


# %%
# Loading with clear errors
# -------------------------
# :func:`torch.load` fails on a damaged file with the message of whichever reader
# failed, about a zip archive or a record it cannot find. ``load_checkpoint`` says
# instead what is wrong with the checkpoint: that it is cut short, that it holds
# objects other than tensors, or that it lacks part of the training state.


class CheckpointError(RuntimeError):
    """A file that is not a complete checkpoint of this page's kind."""


CHECKPOINT_KEYS = {"epoch", "model", "optimizer"}


def load_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise  # already says what is wrong
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path.name} holds objects other than tensors and plain containers; "
            "load it with weights_only=False only if you trust its source"
        ) from error
    except (RuntimeError, OSError, EOFError) as error:  # zip, read and end-of-file errors
        raise CheckpointError(
            f"{path.name} ({path.stat().st_size} bytes) is not a complete checkpoint: it "
            f"may be truncated or corrupted (torch.load: {str(error).split('. ')[0]})"
        ) from error
    missing = CHECKPOINT_KEYS - set(state) if isinstance(state, dict) else CHECKPOINT_KEYS
    if missing:
        raise CheckpointError(f"{path.name} lacks {sorted(missing)}: not a training checkpoint")
    return state


# %%
# Training with a checkpoint after every epoch
# --------------------------------------------
# Each epoch ends with a save that replaces the previous checkpoint. Loading the last
# one into a new model must give back the weights the training loop ended with.
model = make_model()
optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
checkpoint = WORK / "checkpoint.pt"
for epoch in range(1, N_EPOCHS + 1):
    model.train()
    for inputs, targets in loader:
        loss = nn.functional.mse_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    save_atomically(checkpoint_state(model, optimizer, epoch), checkpoint)
    print(f"epoch {epoch}: last batch loss {loss.item():.4f}, saved {checkpoint.name}")

state = load_checkpoint(checkpoint)
restored = make_model()
restored.load_state_dict(state["model"])
print(f"loaded {checkpoint.name}: epoch {state['epoch']}, entries {sorted(state)}")
trained = model.state_dict()
check(
    all(torch.equal(tensor, trained[name]) for name, tensor in restored.state_dict().items()),
    "the loaded checkpoint holds the trained weights exactly",
)

# %%
# A crash during a save
# ---------------------
# Both ways of saving now meet a failure partway through writing: the state holds an
# object that raises while it is written, standing in for a full disk or a killed
# process. Each file held a good checkpoint before.


class FailsWhileSaving:
    def __reduce__(self):
        raise OSError("simulated crash during the save")


still_loads = {}
for name, save in (("torch_save", torch.save), ("save_atomically", save_atomically)):
    path = WORK / f"{name}.pt"
    save_atomically(checkpoint_state(model, optimizer, N_EPOCHS), path)
    try:
        save({**checkpoint_state(model, optimizer, N_EPOCHS), "crash": FailsWhileSaving()}, path)
    except OSError as error:
        print(f"{name}: {error}")
    try:
        print(f"  {path.name} still loads, epoch {load_checkpoint(path)['epoch']}")
        still_loads[name] = True
    except CheckpointError as error:
        print(f"  {error}")
        still_loads[name] = False
leftovers = sorted(path.name for path in WORK.glob("*.tmp"))
print("temporary files left behind:", leftovers)
check(
    still_loads["save_atomically"] and not still_loads["torch_save"],
    "a failed atomic save keeps the old checkpoint; a failed torch.save destroys it",
)

# %%
# A process killed outright (``kill -9``, a power cut) cannot remove its temporary
# file; the checkpoint is still intact, and the stray ``.tmp`` file can be deleted.
#
# Truncated, untrusted and mismatched checkpoints
# -----------------------------------------------
# A file cut short, by a copy that stopped or a full disk, fails in
# ``load_checkpoint`` with a message that says so. So do the file with code in it from
# above, without running that code, and a file that holds the weights alone:
data = checkpoint.read_bytes()
truncated = WORK / "truncated.pt"
truncated.write_bytes(data[: len(data) // 2])
weights_alone = WORK / "weights.pt"
torch.save({"model": model.state_dict()}, weights_alone)
for path in (truncated, untrusted, weights_alone):
    try:
        load_checkpoint(path)
    except CheckpointError as error:
        print(error)

# %%
# A checkpoint from another architecture is a complete file, but its tensors do not
# fit. ``load_state_dict`` is strict by default and lists every key that is missing,
# unexpected or of the wrong shape. This network is twice as wide and has no dropout
# layer, which renumbers its last layer from 3 to 2:
other = nn.Sequential(nn.Linear(1, 2 * HIDDEN), nn.Tanh(), nn.Linear(2 * HIDDEN, 1))
try:
    other.load_state_dict(load_checkpoint(checkpoint)["model"])
except RuntimeError as error:
    print(error)

# %%
# ``strict=False`` loosens only the names: it skips missing and unexpected keys and
# returns their lists, which are worth printing, while a tensor of the wrong shape
# still raises. Keep it for deliberate partial loads, such as a trained body whose
# old head was left out of the checkpoint.
workdir.cleanup()
