import pytest
import torch

from pytorch_examples import device


def fake_accelerator(monkeypatch, accelerator: str | None, count: int = 1) -> None:
    """Make torch.accelerator report ``accelerator`` (None: none available)."""

    def current_accelerator(check_available: bool = False) -> torch.device | None:
        return None if accelerator is None else torch.device(accelerator)

    monkeypatch.setattr(torch.accelerator, "current_accelerator", current_accelerator)
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: count)


def test_cpu_is_always_available():
    assert device.pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("accelerator", ["cuda", "mps", "xpu"])
def test_the_accelerator_is_picked_whatever_its_backend(monkeypatch, accelerator):
    fake_accelerator(monkeypatch, accelerator)
    assert device.pick_device() == torch.device(accelerator)
    assert device.pick_device(accelerator) == torch.device(accelerator)
    assert device.pick_device("cpu") == torch.device("cpu")


def test_without_an_accelerator_the_cpu_is_picked(monkeypatch):
    fake_accelerator(monkeypatch, None)
    assert device.pick_device() == torch.device("cpu")


def test_this_machine_agrees_with_torch_accelerator():
    available = torch.accelerator.is_available()
    assert (device.pick_device().type != "cpu") is available


def test_an_absent_accelerator_is_a_clear_error(monkeypatch):
    fake_accelerator(monkeypatch, None)
    with pytest.raises(RuntimeError, match="needs a CUDA GPU, but PyTorch sees no accelerator"):
        device.pick_device("cuda")
    fake_accelerator(monkeypatch, "mps")
    with pytest.raises(RuntimeError, match=r"needs an Intel GPU \(XPU\).*'mps' \(1 device\)"):
        device.pick_device("xpu")


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="accelerator type"):
        device.pick_device("tpu-v9")


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
