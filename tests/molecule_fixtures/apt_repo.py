"""Build the local signed apt repository the molecule scenarios use.

It holds one package, ``nvidia-container-toolkit 0.0.0~standin1`` -- a STAND-IN
(see standin-toolkit/) with an ``nvidia-ctk`` script, not NVIDIA's toolkit -- in
a flat repository laid out like NVIDIA's
(``<root>/stable/deb/<arch>/{Packages,Release,InRelease}``), signed with a
throw-away key made here, whose public half is ``<root>/gpgkey`` (ASCII armour,
as NVIDIA publishes its key).

Tools: dpkg-deb and dpkg-scanpackages (dpkg-dev), gpg. No network.
"""

import datetime
import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "nvidia-container-toolkit"
VERSION = "0.0.0~standin1"
ARCHES = ("amd64", "arm64")

CONTROL = """Package: {package}
Version: {version}
Architecture: all
Maintainer: airgap.aks_inference tests <tests@example.invalid>
Section: utils
Priority: optional
Depends: runc
Description: STAND-IN for tests only, not NVIDIA's container toolkit
 Provides an nvidia-ctk script that answers the commands the gpu_jumpbox role
 runs, so its molecule scenarios can install "the toolkit" from a local signed
 repository. Built by tests/molecule_fixtures/apt_repo.py.
"""


def _run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def build_deb(workdir):
    tree = os.path.join(workdir, "pkg")
    shutil.copytree(os.path.join(HERE, "standin-toolkit"), tree)
    os.makedirs(os.path.join(tree, "DEBIAN"))
    with open(os.path.join(tree, "DEBIAN", "control"), "w") as f:
        f.write(CONTROL.format(package=PACKAGE, version=VERSION))
    for dirpath, _dirs, files in os.walk(tree):
        os.chmod(dirpath, 0o755)
        for name in files:
            path = os.path.join(dirpath, name)
            os.chmod(path, 0o755 if "/usr/bin/" in path else 0o644)
    deb = os.path.join(workdir, "%s_%s_all.deb" % (PACKAGE, VERSION))
    _run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", tree, deb])
    return deb


def _release(directory, files):
    lines = [
        "Origin: airgap-aks-inference-tests",
        "Label: nvidia-container-toolkit stand-in (tests only)",
        "Date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S UTC"),
    ]
    for title, algo in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
        lines.append("%s:" % title)
        for name in files:
            with open(os.path.join(directory, name), "rb") as f:
                data = f.read()
            lines.append(" %s %d %s" % (algo(data).hexdigest(), len(data), name))
    with open(os.path.join(directory, "Release"), "w") as f:
        f.write("\n".join(lines) + "\n")


def _gpg(home, *args, **kwargs):
    return _run(["gpg", "--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""] + list(args), **kwargs)


def build(root):
    """(Re)build the repository under ``root``; returns the path of the public key."""
    os.makedirs(root, exist_ok=True)
    work = tempfile.mkdtemp(prefix="standin-repo-")
    gnupghome = os.path.join(work, "gnupg")
    os.makedirs(gnupghome, mode=0o700)
    try:
        deb = build_deb(work)
        _gpg(gnupghome, "--quick-gen-key", "airgap.aks_inference test repository (stand-in) <tests@example.invalid>",
             "ed25519", "sign", "1d")
        with open(os.path.join(root, "gpgkey"), "wb") as f:
            f.write(_gpg(gnupghome, "--armor", "--export").stdout)
        for arch in ARCHES:
            repo = os.path.join(root, "stable", "deb", arch)
            if os.path.isdir(repo):
                shutil.rmtree(repo)
            os.makedirs(repo)
            shutil.copy(deb, repo)
            packages = _run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo).stdout
            with open(os.path.join(repo, "Packages"), "wb") as f:
                f.write(packages)
            with gzip.open(os.path.join(repo, "Packages.gz"), "wb", compresslevel=9) as f:
                f.write(packages)
            _release(repo, ["Packages", "Packages.gz"])
            release = os.path.join(repo, "Release")
            _gpg(gnupghome, "--clearsign", "--digest-algo", "SHA256", "-o", os.path.join(repo, "InRelease"), release)
            _gpg(gnupghome, "--armor", "--detach-sign", "--digest-algo", "SHA256", "-o", release + ".gpg", release)
    finally:
        # the agent gpg started for this home directory must not outlive it
        subprocess.run(["gpgconf", "--homedir", gnupghome, "--kill", "all"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    return os.path.join(root, "gpgkey")


if __name__ == "__main__":
    import sys

    print(build(sys.argv[1]))
