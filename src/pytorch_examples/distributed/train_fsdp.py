"""Train a small regression network with FSDP (fully_shard), on CPUs.

Run: torchrun --standalone --nproc-per-node 2 -m pytorch_examples.distributed.train_fsdp
or, as one ordinary process: python -m pytorch_examples.distributed.train_fsdp
Shown and explained on :ref:`sphx_glr_auto_examples_scale_plot_fsdp.py`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.elastic.multiprocessing.errors import record
from torch.distributed.fsdp import fully_shard

from pytorch_examples.distributed import common

parser = common.make_parser(__doc__)


def local(tensor: torch.Tensor) -> torch.Tensor:
    """Return the part of a tensor this process stores: its slice of a sharded DTensor.

    Shown on :doc:`/auto_examples/scale/plot_fsdp`.
    """
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def held_bytes(model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Bytes of parameters, gradients and optimizer state stored in this process.

    Shown on :doc:`/auto_examples/scale/plot_fsdp`.
    """
    params = list(model.parameters())
    tensors = params + [p.grad for p in params if p.grad is not None]
    tensors += [t for state in optimizer.state.values() for t in state.values()]
    return sum(local(t).numel() * t.element_size() for t in tensors if torch.is_tensor(t))


@record  # puts a failing rank's traceback into torchrun's error report
def main() -> None:
    """Train with the command line's settings, sharded if torchrun started this process.

    Shown on :doc:`/auto_examples/scale/plot_fsdp`.
    """
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)  # every rank may create it
    process = common.join("gloo")
    loader = common.make_loader(args, process)
    model = common.make_model(args.seed)
    if process.distributed:
        mesh = init_device_mesh("cpu", (process.world_size,))  # the processes that share
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer, mesh=mesh)  # each process keeps some rows of this layer
        fully_shard(model, mesh=mesh)  # the root: whatever the layers above left over
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    slices = ", ".join(f"{name} {tuple(local(p).shape)}" for name, p in model.named_parameters())
    process.log(f"stores {slices}")
    common.train(model, optimizer, loader, args.epochs, process)

    if process.distributed:
        # Gathering the slices is collective; with cpu_offload, rank 0 keeps the result.
        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = get_model_state_dict(model, options=options)
    else:
        state = model.state_dict()
    common.save_checkpoint(state, args.out / "checkpoint.pt", process)
    common.finish({"held_bytes": held_bytes(model, optimizer)}, args.out, process)


if __name__ == "__main__":
    main()
