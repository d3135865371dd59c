"""The torchvision page: each method's setup on resnet18, and the weights' preprocessing."""

from __future__ import annotations

import inspect
import re
import textwrap
import types

import pytest
import torch
from torchvision.transforms import functional as TF

from pages import GALLERY

PAGE = "practice/plot_torchvision_weights.py"


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def test_the_preprocessing_resizes_crops_and_standardizes_as_imagenet(page):
    images, transform = page["images"], page["weights"].transforms()
    by_hand = TF.resize(images, transform.resize_size, antialias=True)
    by_hand = TF.center_crop(by_hand, transform.crop_size)
    by_hand = TF.normalize(by_hand.float() / 255, transform.mean, transform.std)
    torch.testing.assert_close(page["prepared"], by_hand, atol=1e-5, rtol=0)
    assert page["area_factor"] == (transform.crop_size[0] / page["CIFAR_SIZE"]) ** 2


def test_the_linear_probe_trains_the_new_head_alone(page):
    model, optimizer = page["setup"]("linear probe", 0.1)
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trained == {"fc.weight", "fc.bias"}
    assert model.fc.out_features == page["N_CLASSES"]
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(model.fc.weight), id(model.fc.bias)}


def test_lower_early_rates_give_each_stage_its_factor_and_the_head_the_peak(page):
    model, optimizer = page["setup"]("lower early rates", 0.2)
    stages = ["conv1.|bn1.", "layer1.", "layer2.", "layer3.", "layer4.", "fc."]
    factors = [*page["EARLY_LR_FACTORS"], 1.0]
    names = {id(p): name for name, p in model.named_parameters()}
    assert len(optimizer.param_groups) == len(stages)
    for group, prefixes, factor in zip(optimizer.param_groups, stages, factors, strict=True):
        assert group["lr"] == pytest.approx(0.2 * factor)
        assert all(names[id(p)].startswith(tuple(prefixes.split("|"))) for p in group["params"])
    everything = [p for group in optimizer.param_groups for p in group["params"]]
    assert sorted(map(id, everything)) == sorted(map(id, model.parameters()))


def test_the_training_block_runs_after_the_fine_tuning_page_in_one_session(gallery_page, page):
    # The block is not run by the build (it downloads); here its names and calls are
    # checked against the fine-tuning page's and this page's, with train and score
    # replaced by recorders that bind their arguments to the real signatures.
    gallery_page("practice/plot_pretraining.py")
    session = dict(gallery_page("practice/plot_fine_tuning.py").namespace)
    session.update(page.namespace)
    source = (GALLERY / PAGE).read_text()
    block = re.search(r"# \.\. code-block:: python\n#\n((?:#    .*\n)+)", source).group(1)
    code = textwrap.dedent("\n".join(line[1:] for line in block.splitlines()))
    calls = []

    def recorder(name, function):
        signature = inspect.signature(function)

        def record(*args, **kwargs):
            calls.append((name, signature.bind(*args, **kwargs).arguments))
            return function(*args, **kwargs) if name == "setup" else type("S", (), {"accuracy": 0})

        # Its globals are the session's, as a pasted train's would be: the block checks that.
        return types.FunctionType(record.__code__, session, name, None, record.__closure__)

    page_setup = session["setup"]
    session["setup"] = recorder("setup", lambda method, lr, weights=None: page_setup(method, lr))
    session["train"] = recorder("train", session["train"])
    session["score"] = recorder("score", session["score"])
    exec(compile(code, "block", "exec"), session)
    trains = [arguments for name, arguments in calls if name == "train"]
    assert len(trains) == len(session["RESNET_PEAK_RATES"])
    assert trains[0]["epochs"] == session["TARGET_EPOCHS"]
    assert trains[0]["batch_size"] == session["TARGET_BATCH_SIZE"]
    assert callable(session["to_input"])  # the weights' preprocessing replaced the pages'
