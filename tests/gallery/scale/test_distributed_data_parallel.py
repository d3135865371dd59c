"""The DDP page: shards against the single process's order, bytes against a count."""

from __future__ import annotations

import pytest

PAGE = "scale/plot_distributed_data_parallel.py"


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def one_copy_bytes(page) -> int:
    """Bytes of float32 parameters, gradients and momentum of the page's whole model."""
    n_values = sum(tensor.numel() for tensor in page["single"].checkpoint.values())
    return 3 * 4 * n_values


def test_the_ranks_split_the_single_process_order_and_it_changes_each_epoch(page):
    n_processes = page["N_PROCESSES"]
    single = page["single"].reports[0]["shards"]
    for rank, report in enumerate(page["ddp"].reports):
        for epoch, order in enumerate(single):
            assert report["shards"][epoch] == order[rank::n_processes]
    assert len({tuple(order) for order in single}) == len(single) == page["N_EPOCHS"]


def test_every_ddp_rank_stores_a_whole_copy_of_the_model(page):
    ddp_bytes = [report["held_bytes"] for report in page["ddp"].reports]
    assert ddp_bytes == [one_copy_bytes(page)] * page["N_PROCESSES"]


def test_ddp_buckets_add_a_copy_of_the_gradients_unless_the_gradients_are_views(page):
    copy, n_processes = one_copy_bytes(page), page["N_PROCESSES"]
    gradients = copy // 3  # parameters, gradients and momentum are the same size
    default = [report["total_bytes"] for report in page["ddp"].reports]
    views = [report["total_bytes"] for report in page["views"].reports]
    assert default == [copy + gradients] * n_processes
    assert views == [copy] * n_processes
