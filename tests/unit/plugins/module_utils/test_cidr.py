import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.cidr import parse_network, validate_plan

SPACE = [("address_space[0]", "10.40.0.0/16")]


def test_sound_plan():
    assert validate_plan(SPACE, [("nodes", "10.40.0.0/22"), ("apiserver", "10.40.4.0/28")],
                         {"apiserver": (28, "the API server subnet")}) == []


@pytest.mark.parametrize("subnets,field,words", [
    ([("nodes", "10.40.0.0/33")], "nodes", "not a valid CIDR"),
    ([("nodes", "10.40.0.1/22")], "nodes", "host bits set; did you mean 10.40.0.0/22"),
    ([("nodes", "10.40.0.0")], "nodes", "not a CIDR prefix"),
    ([("nodes", "10.41.0.0/22")], "nodes", "outside the virtual network address space"),
    ([("nodes", "10.40.0.0/22"), ("pe", "10.40.3.0/24")], "pe", "overlaps 10.40.0.0/22 (nodes)"),
    ([("apiserver", "10.40.4.0/29")], "apiserver", "too small"),
])
def test_bad_plans_name_the_field(subnets, field, words):
    problems = validate_plan(SPACE, subnets, {"apiserver": (28, "the API server subnet")})
    assert len(problems) == 1
    assert problems[0].startswith(field + ": ") and words in problems[0]


def test_parse_network_strict():
    assert str(parse_network("10.0.0.0/8", "f")) == "10.0.0.0/8"
    with pytest.raises(InputError):
        parse_network("banana", "f")
