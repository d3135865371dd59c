"""Train a small regression network with DistributedDataParallel, on CPUs or GPUs.

Run: torchrun --standalone --nproc-per-node 2 -m pytorch_examples.distributed.train_ddp
or, as one ordinary process: python -m pytorch_examples.distributed.train_ddp
Shown and explained on :ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py`.
"""

from __future__ import annotations

import torch
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel

from pytorch_examples.distributed import common

parser = common.make_parser(__doc__)
parser.add_argument("--backend", choices=["gloo", "nccl"], default="gloo")
parser.add_argument("--grad-views", action="store_true", help="gradient_as_bucket_view=True")


def stored_bytes(tensors) -> int:
    """Bytes of the memory behind ``tensors``, each block once: a view adds nothing.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    blocks = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(blocks.values())


@record  # puts a failing rank's traceback into torchrun's error report
def main() -> None:
    """Train with the command line's settings, as DDP if torchrun started this process.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)  # every rank may create it
    process = common.join(args.backend)
    loader = common.make_loader(args, process)
    model = common.make_model(args.seed).to(process.device)
    buckets = {}  # DDP's flat buffers for averaging gradients, by bucket index
    if process.distributed:
        # Every process starts from rank 0's weights; backward() averages the gradients.
        model = DistributedDataParallel(
            model,
            device_ids=[process.device.index] if process.device.type == "cuda" else None,
            gradient_as_bucket_view=args.grad_views,
        )

        def allreduce_noting_buckets(state, bucket):
            buckets[bucket.index()] = bucket.buffer()  # then DDP's usual averaging
            return allreduce_hook(state, bucket)

        model.register_comm_hook(None, allreduce_noting_buckets)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    if process.rank == 0:
        n, batch = process.world_size, args.batch_size
        process.log(f"{n} process(es) x {batch} = {n * batch} samples per step")
    # Clearing before each step keeps the buffers of the last step only.
    shards = common.train(model, optimizer, loader, args.epochs, process, buckets.clear)
    process.log(f"epoch 0 shard: {len(shards[0])} samples, starting {shards[0][:6]}")

    state = (model.module if process.distributed else model).state_dict()
    path = args.out / "checkpoint.pt"
    common.save_checkpoint(state, path, process)
    matches = None
    if process.rank != 0:
        # map_location puts the tensors on this process's device, not the saver's.
        loaded = torch.load(path, map_location=process.device, weights_only=True)
        matches = all(torch.equal(loaded[name], tensor) for name, tensor in state.items())
        process.log(f"loaded rank 0's checkpoint: equal to my copy: {matches}")

    params = list(model.parameters())
    grads = [p.grad for p in params]
    momenta = [t for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)]
    report = {
        "shards": shards,
        "checkpoint_matches": matches,
        "held_bytes": stored_bytes(params + grads + momenta),
        "gradient_bytes": stored_bytes(grads),
        "bucket_bytes": stored_bytes(buckets.values()),
        "total_bytes": stored_bytes(params + grads + momenta + list(buckets.values())),
    }
    common.finish(report, args.out, process)


if __name__ == "__main__":
    main()
