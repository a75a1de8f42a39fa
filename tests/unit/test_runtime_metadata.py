"""Every Azure module is in the action group, so module_defaults reaches it."""
import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def azure_modules():
    names = []
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))):
        with open(path) as handle:
            if "- airgap.aks_inference.azure\n" in handle.read():
                names.append(os.path.splitext(os.path.basename(path))[0])
    return names


def test_every_azure_module_is_in_the_azure_action_group():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = yaml.safe_load(handle)["action_groups"]["azure"]
    modules = azure_modules()
    assert len(modules) >= 20
    assert sorted(set(modules) - set(group)) == []
    assert sorted(set(group) - set(modules)) == []
