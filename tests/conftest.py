"""Make the collection importable as ansible_collections.airgap.aks_inference in tests."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")
if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "airgap", "aks_inference")):
    raise RuntimeError("run hack/bootstrap.sh first: the collection link is missing")

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

_finder = _AnsibleCollectionFinder(paths=[COLLECTIONS])
_finder._install()  # pylint: disable=protected-access
# The ARM emulator (tests/emulator/armemu) and its fixtures: arm_emulator, arm.
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
pytest_plugins = ["armemu.pytest_plugin"]
