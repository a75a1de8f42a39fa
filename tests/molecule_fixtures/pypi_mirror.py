"""A PEP 503 "simple" PyPI mirror on disk, for the role's gpu_jumpbox_pip_index_url.

``build(root, requirements)`` downloads the wheels of ``requirements`` and their
dependencies with the host's pip (from PyPI, or whatever index the host's pip
is configured for) into a cache shared between runs, copies them under
``root/files/`` and writes ``root/simple/<project>/index.html``. The instance
then installs from the mirror on 127.0.0.1 and reaches no index itself.

The instance must be able to use the host's wheels: same CPU architecture and
a Python of the same minor version (Debian 12's python3 is 3.11, as is the
venv these tests run from; ``--python-version`` is passed when they differ).
"""

import hashlib
import html
import os
import re
import shutil
import subprocess
import sys

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "airgap-aks-inference", "wheels")


def _project(filename):
    name = filename.split("-", 1)[0] if filename.endswith(".whl") else filename.rsplit("-", 1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stdout)
        raise subprocess.CalledProcessError(proc.returncode, cmd)


def build(root, requirements, python_version="3.11"):
    os.makedirs(CACHE, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"]
    extra = [] if "%d.%d" % sys.version_info[:2] == python_version else ["--python-version", python_version]
    # fill the cache shared between runs (a no-op download when it already holds the files)
    _pip(base + ["--dest", CACHE] + extra + list(requirements))
    # take only what this resolution needs, offline, from the cache
    _pip(base + ["--no-index", "--find-links", CACHE, "--dest", os.path.join(root, "files")] + extra + list(requirements))
    files = sorted(os.listdir(os.path.join(root, "files")))
    projects = {}
    for name in files:
        projects.setdefault(_project(name), []).append(name)
    simple = os.path.join(root, "simple")
    if os.path.isdir(simple):
        shutil.rmtree(simple)
    os.makedirs(simple)
    with open(os.path.join(simple, "index.html"), "w") as f:
        f.write("<!DOCTYPE html><html><body>\n")
        for project in sorted(projects):
            f.write('<a href="%s/">%s</a>\n' % (project, project))
        f.write("</body></html>\n")
    for project, names in projects.items():
        os.makedirs(os.path.join(simple, project))
        with open(os.path.join(simple, project, "index.html"), "w") as f:
            f.write("<!DOCTYPE html><html><body>\n")
            for name in names:
                with open(os.path.join(root, "files", name), "rb") as wheel:
                    digest = hashlib.sha256(wheel.read()).hexdigest()
                f.write('<a href="../../files/%s#sha256=%s">%s</a>\n' % (html.escape(name), digest, html.escape(name)))
            f.write("</body></html>\n")
    return sorted(projects)


if __name__ == "__main__":
    print(build(sys.argv[1], sys.argv[2:]))
