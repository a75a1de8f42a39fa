"""The filter plugin is a thin wrapper: check its inputs and outputs."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.airgap.aks_inference.plugins.filter.nvidia_driver import FilterModule

FILTERS = FilterModule().filters()


def test_filters_are_exported():
    assert set(FILTERS) == {"nvidia_driver_plan", "nvidia_driver_packages", "kernel_headers_package"}


def test_plan_from_facts():
    facts = {"distribution": "Ubuntu", "distribution_version": "24.04", "distribution_major_version": "24",
             "kernel": "6.8.0-1015-azure"}
    report = FILTERS["nvidia_driver_plan"](facts, "550", "podman")
    assert report["supported"]
    assert report["plan"]["packages"] == ["linux-headers-azure", "nvidia-headless-550-server", "nvidia-utils-550-server"]


def test_plan_falls_back_to_the_major_version():
    report = FILTERS["nvidia_driver_plan"]({"distribution": "Debian", "distribution_major_version": "12"})
    assert report["supported"] and report["plan"]["codename"] == "bookworm"


def test_plan_never_raises_for_bad_platforms():
    report = FILTERS["nvidia_driver_plan"]({"distribution": "Rocky", "distribution_version": "9.4"})
    assert report["supported"] is False and report["field"] == "platform"


def test_plan_rejects_non_facts():
    with pytest.raises(AnsibleFilterError):
        FILTERS["nvidia_driver_plan"]("Ubuntu")


def test_packages_filter():
    assert FILTERS["nvidia_driver_packages"]("Ubuntu", "22.04", "535") == ["nvidia-headless-535-server", "nvidia-utils-535-server"]
    with pytest.raises(AnsibleFilterError, match="not supported"):
        FILTERS["nvidia_driver_packages"]("Ubuntu", "18.04")


def test_kernel_headers_filter():
    assert FILTERS["kernel_headers_package"]("6.1.0-28-cloud-amd64") == "linux-headers-cloud-amd64"
    assert FILTERS["kernel_headers_package"]("custom") == ""
