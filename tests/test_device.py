import pytest
import torch

from pytorch_examples import device


def test_cpu_is_always_available():
    assert device.pick_device("cpu") == torch.device("cpu")


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="'cpu', 'cuda' or None"):
        device.pick_device("tpu")


def test_cuda_without_a_gpu_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        device.pick_device("cuda")
    assert device.pick_device() == torch.device("cpu")


@pytest.mark.parametrize(
    ("flag", "cuda", "expected"),
    [("1", True, True), ("1", False, False), ("0", True, False), (None, True, False)],
)
def test_gpu_examples_need_both_the_flag_and_cuda(monkeypatch, flag, cuda, expected):
    if flag is None:
        monkeypatch.delenv(device.GPU_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(device.GPU_ENV_VAR, flag)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert device.gpu_examples_enabled() is expected
