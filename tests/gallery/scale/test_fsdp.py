"""The FSDP page: what each rank stores, against a count of the model's values."""

from __future__ import annotations

PAGE = "scale/plot_fsdp.py"


def test_fsdp_ranks_store_one_copy_of_the_model_between_them(gallery_page):
    page = gallery_page(PAGE)
    n_values = sum(tensor.numel() for tensor in page["single"].checkpoint.values())
    copy = 3 * 4 * n_values  # float32 parameters, gradients and momentum
    fsdp_bytes = [report["held_bytes"] for report in page["fsdp"].reports]
    assert len(fsdp_bytes) == page["N_PROCESSES"]
    assert page["single"].reports[0]["held_bytes"] == copy
    assert sum(fsdp_bytes) == copy
    assert max(fsdp_bytes) < copy


def test_the_gathered_checkpoint_is_the_single_process_model(gallery_page):
    page = gallery_page(PAGE)
    plain = page["common"].make_model(page["SEED"])
    plain.load_state_dict(page["fsdp"].checkpoint)
    single = page["single"].checkpoint
    assert set(plain.state_dict()) == set(single)
    for name, value in plain.state_dict().items():
        assert value.shape == single[name].shape
