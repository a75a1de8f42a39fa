"""Table tests of the driver package choice (plugins/module_utils/nvidia_driver.py)."""

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import nvidia_driver as nd


@pytest.mark.parametrize(
    "distribution, version, branch, kernel, packages",
    [
        ("Ubuntu", "22.04", "535", None, ["nvidia-headless-535-server", "nvidia-utils-535-server"]),
        ("Ubuntu", "24.04", "570", None, ["nvidia-headless-570-server", "nvidia-utils-570-server"]),
        ("ubuntu", "24.04.2", None, None, ["nvidia-headless-570-server", "nvidia-utils-570-server"]),
        ("Ubuntu", "24.04", "", "6.8.0-1015-azure",
         ["linux-headers-azure", "nvidia-headless-570-server", "nvidia-utils-570-server"]),
        ("Ubuntu", "22.04", 550, "5.15.0-105-generic",
         ["linux-headers-generic", "nvidia-headless-550-server", "nvidia-utils-550-server"]),
        ("Debian", "12", None, None, ["nvidia-driver", "nvidia-smi", "firmware-misc-nonfree"]),
        ("Debian", "12.7", "535", "6.1.0-28-cloud-amd64",
         ["linux-headers-cloud-amd64", "nvidia-driver", "nvidia-smi", "firmware-misc-nonfree"]),
        ("Debian", "12", None, "6.1.0-31-arm64", ["linux-headers-arm64", "nvidia-driver", "nvidia-smi", "firmware-misc-nonfree"]),
    ],
)
def test_driver_packages(distribution, version, branch, kernel, packages):
    assert nd.driver_packages(distribution, version, branch=branch, kernel_release=kernel) == packages


@pytest.mark.parametrize(
    "distribution, version, components, codename",
    [
        ("Ubuntu", "22.04", [], "jammy"),
        ("Ubuntu", "24.04", [], "noble"),
        ("Debian", "12", ["contrib", "non-free", "non-free-firmware"], "bookworm"),
    ],
)
def test_plan_components_and_codename(distribution, version, components, codename):
    plan = nd.driver_plan(distribution, version)
    assert plan["apt_components"] == components
    assert plan["codename"] == codename
    assert plan["notes"] == []


def test_debian_reports_an_ignored_branch():
    plan = nd.driver_plan("Debian", "12", branch="570")
    assert plan["branch"] == "535"
    assert plan["notes"] == ["Debian 12 ships only the 535 driver branch; branch 570 is ignored"]
    assert nd.driver_plan("Debian", "12", branch="535")["notes"] == []


@pytest.mark.parametrize(
    "distribution, version",
    [("Ubuntu", "20.04"), ("Debian", "11"), ("Debian", "13"), ("CentOS", "9"), ("", ""), (None, None), ("Ubuntu", "24.10")],
)
def test_unsupported_platforms(distribution, version):
    with pytest.raises(nd.UnsupportedPlatform) as exc:
        nd.driver_plan(distribution, version)
    assert "is not supported (supported: Debian 12, Ubuntu 22.04, Ubuntu 24.04)" in str(exc.value)


@pytest.mark.parametrize("branch", ["latest", "57", "5700", "570-server", "0xx", " "])
def test_malformed_branches(branch):
    with pytest.raises(nd.UnsupportedPlatform, match="is not a branch number"):
        nd.driver_plan("Ubuntu", "24.04", branch=branch)


@pytest.mark.parametrize(
    "kernel, package",
    [
        ("6.1.0-28-amd64", "linux-headers-amd64"),
        ("6.1.0-28-cloud-amd64", "linux-headers-cloud-amd64"),
        ("6.8.0-1015-azure", "linux-headers-azure"),
        ("5.15.0-1073-azure-fde", "linux-headers-azure-fde"),
        ("6.18.44-fc-v669", None),
        ("6.9.0", None),
        ("", None),
        (None, None),
    ],
)
def test_kernel_headers_package(kernel, package):
    assert nd.kernel_headers_package(kernel) == package


@pytest.mark.parametrize(
    "distribution, version, runtime, supported",
    [
        ("Ubuntu", "22.04", "docker", True),
        ("Ubuntu", "22.04", "podman", False),
        ("Ubuntu", "24.04", "podman", True),
        ("Debian", "12", "podman", True),
        ("Debian", "12", "crio", False),
    ],
)
def test_runtime_supported(distribution, version, runtime, supported):
    assert nd.runtime_supported(distribution, version, runtime) is supported


def test_platform_report_names_what_is_wrong():
    assert nd.platform_report("Fedora", "40")["field"] == "platform"
    assert nd.platform_report("Ubuntu", "24.04", branch="x")["field"] == "branch"
    report = nd.platform_report("Ubuntu", "22.04", runtime="podman")
    assert report["field"] == "runtime"
    assert "CDI" in report["error"] and report["plan"]["platform"] == "ubuntu 22.04"
    ok = nd.platform_report("Debian", "12", runtime="docker", kernel_release="6.1.0-28-cloud-amd64")
    assert ok == {"supported": True, "field": "", "error": "", "plan": nd.driver_plan("Debian", "12", kernel_release="6.1.0-28-cloud-amd64")}
