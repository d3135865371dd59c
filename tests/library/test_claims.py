import pytest
import torch

from pytorch_examples.claims import ClaimError, check


def test_a_claim_that_holds_is_printed_as_checked(capsys):
    check(torch.tensor([1.0, 2.0]).lt(3.0).all(), "every value is below 3")
    assert capsys.readouterr().out == "checked: every value is below 3\n"


def test_a_claim_that_fails_stops_the_page_and_prints_nothing(capsys):
    with pytest.raises(ClaimError, match="no longer holds: the loss falls"):
        check(2.5 < 2.4, "the loss falls")
    assert capsys.readouterr().out == ""


def test_a_claim_error_is_an_assertion_error():
    assert issubclass(ClaimError, AssertionError)


@pytest.mark.parametrize("claim", ["", "   ", None])
def test_a_claim_must_be_stated(claim):
    with pytest.raises(TypeError, match="non-empty string"):
        check(True, claim)


def test_an_ambiguous_tensor_is_not_a_claim():
    with pytest.raises(RuntimeError, match="ambiguous"):
        check(torch.tensor([True, False]), "both hold")
