"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

That script comes from a host this project's machines cannot reach. This one
does the same job with what Python ships: ensurepip puts the bundled pip into
the fresh virtualenv, then pip installs what ansible-test asked for (from the
configured package index).
"""
import ensurepip
import importlib
import os
import runpy
import sys

saved = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
ensurepip.bootstrap(upgrade=True, default_pip=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null for itself; give pip its configuration back.
os.environ.pop("PIP_CONFIG_FILE", None)
os.environ.update(saved)
importlib.invalidate_caches()
# --no-setuptools / --no-wheel are get-pip's own options, not pip's.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install", "--upgrade"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
