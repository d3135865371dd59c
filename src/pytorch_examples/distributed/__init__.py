"""Training scripts for several processes, started with ``torchrun``.

Each script is a module, so that it can be started from the installed package:
``torchrun --standalone --nproc-per-node 2 -m pytorch_examples.distributed.train_ddp``.
Without ``torchrun`` (``python -m ...``) it trains in one ordinary process.
:mod:`~pytorch_examples.distributed.common` holds what the scripts share.
:ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py` runs and shows
``train_ddp`` and ``common``; :ref:`sphx_glr_auto_examples_scale_plot_fsdp.py` runs
and shows ``train_fsdp``.
"""
