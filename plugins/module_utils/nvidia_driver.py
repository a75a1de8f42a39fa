# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which NVIDIA driver packages a GPU jump box needs, per distribution and branch.

Pure functions, no I/O: the role's filter plugin calls them with facts, the unit
tests call them with tables. Supported platforms are the ones the gpu_jumpbox
role documents: Ubuntu 22.04 and 24.04 (the distribution's ``-server`` driver
branches from ``restricted``) and Debian 12 (``nvidia-driver`` from ``non-free``,
one branch per release).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Default branch on Ubuntu: the current long-term production branch that both
# jammy and noble ship as "-server" packages.
DEFAULT_UBUNTU_BRANCH = "570"

# Ubuntu's cloud images enable main, restricted, universe and multiverse; the
# "-server" driver packages live in restricted. Debian's ship main only.
DEBIAN_NONFREE_COMPONENTS = ["contrib", "non-free", "non-free-firmware"]

# (distribution, release) -> what the role needs to know about it.
PLATFORMS = {
    ("ubuntu", "22.04"): {
        "codename": "jammy",
        "driver_source": "ubuntu-server-branch",
        # podman 3.4 has no CDI support (needs >= 4.1): no GPU access for podman.
        "runtimes": ["docker"],
    },
    ("ubuntu", "24.04"): {
        "codename": "noble",
        "driver_source": "ubuntu-server-branch",
        "runtimes": ["docker", "podman"],
    },
    ("debian", "12"): {
        "codename": "bookworm",
        "driver_source": "debian-nonfree",
        # the single branch bookworm ships (nvidia-graphics-drivers 535.x)
        "branch": "535",
        "runtimes": ["docker", "podman"],
    },
}

_BRANCH_RE = re.compile(r"^[1-9][0-9]{2}$")
# <version>-<abi>-<flavour>: 6.1.0-28-cloud-amd64, 6.8.0-1015-azure, 5.15.0-105-generic
_KERNEL_RE = re.compile(r"^\d+\.\d+(?:\.\d+)?-\d+(?:\.\d+)*-(?P<flavour>[a-z0-9][a-z0-9.+-]*)$")


class UnsupportedPlatform(ValueError):
    """The distribution, release, branch or runtime is not one the role supports."""


def supported_platforms():
    """Human-readable list, e.g. ['Debian 12', 'Ubuntu 22.04', 'Ubuntu 24.04']."""
    return sorted("%s %s" % (d.capitalize(), r) for d, r in PLATFORMS)


def platform_key(distribution, version):
    """Normalise facts to a PLATFORMS key.

    ``version`` may be the full version ("12.7", "22.04") or the major one
    ("12"); Debian is keyed by its major version, Ubuntu by year.month.
    """
    dist = (distribution or "").strip().lower()
    ver = str(version or "").strip()
    if dist == "debian":
        ver = ver.split(".", 1)[0]
    elif dist == "ubuntu":
        ver = ".".join(ver.split(".")[:2])
    key = (dist, ver)
    if key not in PLATFORMS:
        raise UnsupportedPlatform(
            "%s %s is not supported (supported: %s)"
            % (distribution or "unknown distribution", version or "(no version)", ", ".join(supported_platforms()))
        )
    return key


def kernel_headers_package(kernel_release):
    """Meta package of the headers that track the running kernel's flavour.

    ``6.1.0-28-cloud-amd64`` -> ``linux-headers-cloud-amd64`` (Debian),
    ``6.8.0-1015-azure`` -> ``linux-headers-azure`` (Ubuntu). ``None`` when the
    release does not look like a distribution kernel (custom builds).
    """
    match = _KERNEL_RE.match((kernel_release or "").strip())
    if not match:
        return None
    return "linux-headers-%s" % match.group("flavour")


def validate_branch(branch):
    branch = str(branch).strip()
    if not _BRANCH_RE.match(branch):
        raise UnsupportedPlatform("driver branch %r is not a branch number such as 535, 550 or 570" % branch)
    return branch


def driver_packages(distribution, version, branch=None, kernel_release=None):
    """The packages that install a headless NVIDIA driver on this platform."""
    return driver_plan(distribution, version, branch=branch, kernel_release=kernel_release)["packages"]


def driver_plan(distribution, version, branch=None, kernel_release=None):
    """Everything the driver task list needs, as plain data.

    Returns a dict with ``platform`` ("ubuntu 24.04"), ``codename``,
    ``branch`` (the one that will be installed), ``packages``,
    ``apt_components`` (extra components to enable, [] when none) and
    ``notes`` (human-readable remarks, e.g. a requested branch that the
    distribution does not offer).
    Raises UnsupportedPlatform for an unsupported platform or a malformed branch.
    """
    key = platform_key(distribution, version)
    info = PLATFORMS[key]
    notes = []
    headers = kernel_headers_package(kernel_release) if kernel_release else None
    if info["driver_source"] == "ubuntu-server-branch":
        chosen = validate_branch(branch if branch not in (None, "") else DEFAULT_UBUNTU_BRANCH)
        packages = [
            "nvidia-headless-%s-server" % chosen,
            "nvidia-utils-%s-server" % chosen,
        ]
        components = []
    else:
        chosen = info["branch"]
        if branch not in (None, ""):
            requested = validate_branch(branch)
            if requested != chosen:
                notes.append(
                    "Debian %s ships only the %s driver branch; branch %s is ignored" % (key[1], chosen, requested)
                )
        # nvidia-driver builds its kernel module with DKMS: it needs the headers
        # of the running kernel's flavour and the GSP firmware.
        packages = ["nvidia-driver", "nvidia-smi", "firmware-misc-nonfree"]
        components = list(DEBIAN_NONFREE_COMPONENTS)
    if headers:
        packages.insert(0, headers)
    return {
        "platform": "%s %s" % key,
        "codename": info["codename"],
        "branch": chosen,
        "packages": packages,
        "apt_components": components,
        "notes": notes,
    }


def runtime_supported(distribution, version, runtime):
    """True when GPU containers work with ``runtime`` on this platform."""
    return runtime in PLATFORMS[platform_key(distribution, version)]["runtimes"]


def platform_report(distribution, version, runtime=None, branch=None, kernel_release=None):
    """Never raises: ``{"supported": bool, "field": str, "error": str, "plan": dict|None}``.

    ``field`` says what is at fault -- ``platform``, ``branch`` or ``runtime``
    -- so the role's preflight can name the variable in its failure message.
    """
    try:
        platform_key(distribution, version)
    except UnsupportedPlatform as exc:
        return {"supported": False, "field": "platform", "error": str(exc), "plan": None}
    try:
        plan = driver_plan(distribution, version, branch=branch, kernel_release=kernel_release)
    except UnsupportedPlatform as exc:
        return {"supported": False, "field": "branch", "error": str(exc), "plan": None}
    if runtime and not runtime_supported(distribution, version, runtime):
        return {
            "supported": False,
            "field": "runtime",
            "error": "container runtime %r has no GPU (CDI) support on %s (supported there: %s)"
            % (runtime, plan["platform"], ", ".join(PLATFORMS[platform_key(distribution, version)]["runtimes"])),
            "plan": plan,
        }
    return {"supported": True, "field": "", "error": "", "plan": plan}
