#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_credentials
short_description: Write the kubeconfig of an AKS cluster to a file readable by its owner only
version_added: 0.1.0
description:
  - Fetches the user (or, with O(admin=true), the admin) kubeconfig of a cluster through ARM
    (C(listClusterUserCredential) / C(listClusterAdminCredential)) and writes it to O(path) with mode
    C(0600), in a directory created with mode C(0700) when missing.
  - The kubeconfig holds credentials. It is never returned, logged or shown in a diff; the module returns
    its SHA-256 and the API server address only. The file is rewritten (changed) only when its content
    or its mode differ.
  - Admin credentials are static; AKS refuses them when the cluster disables local accounts. The user
    kubeconfig of a cluster with Entra ID integration runs C(kubelogin) (O(format=exec)) or the Azure
    CLI (O(format=azure)) to get a token.
  - The API server of a private cluster resolves only inside its virtual network (the jump box, a VPN);
    this module itself only talks to ARM.
options:
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  cluster_name:
    description: Name of the cluster.
    type: str
    required: true
  path:
    description: File to write, for example V(~/.kube/airgap-aks-llm).
    type: path
    required: true
  admin:
    description: Fetch the static admin kubeconfig instead of the user one.
    type: bool
    default: false
  format:
    description: Format of the user kubeconfig of an Entra ID cluster (V(exec) needs C(kubelogin)). User kubeconfig only.
    type: str
    choices: [azure, exec]
  api_version:
    description: ARM api-version of Microsoft.ContainerService to speak.
    type: str
    default: "2026-08-01"
extends_documentation_fragment:
  - airgap.aks_inference.azure
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
attributes:
  check_mode:
    support: full
    description:
      - Fetches the kubeconfig (a read-only POST, not a write) and writes nothing; reports whether the file
        would change (and that it would be written when the cluster does not exist yet).
  diff_mode:
    support: full
    description: Shows the SHA-256 and mode of the file before and after, never its content.
  action_group:
    support: full
    description: Use C(group/airgap.aks_inference.azure) in C(module_defaults) to set the Azure connection once.
    membership:
      - airgap.aks_inference.azure
"""

EXAMPLES = r"""
- name: User kubeconfig of the cluster, owner-readable only
  airgap.aks_inference.aks_credentials:
    resource_group: rg-llm-isolated
    cluster_name: aks-llm
    path: ~/.kube/airgap-aks-llm
  register: kubeconfig

- name: Use it from the jump box (the API server is private)
  ansible.builtin.debug:
    msg: "KUBECONFIG={{ kubeconfig.path }} kubectl get nodes  # server {{ kubeconfig.server }}"
"""

RETURN = r"""
path:
  description: The file written.
  returned: always
  type: str
sha256:
  description: SHA-256 of the kubeconfig (not the kubeconfig itself); null in check mode before the cluster exists.
  returned: always
  type: str
server:
  description: API server URL of the cluster's kubeconfig; null in check mode before the cluster exists.
  returned: always
  type: str
credential:
  description: V(clusterUser) or V(clusterAdmin).
  returned: always
  type: str
mode:
  description: Mode of the file, C(0600).
  returned: always
  type: str
"""

import base64
import binascii
import hashlib
import os
import re
import tempfile

from ansible_collections.airgap.aks_inference.plugins.module_utils import aks
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule, check_name, provider_id

FILE_MODE = 0o600
DIR_MODE = 0o700
SERVER_RE = re.compile(r"^\s*server:\s*(\S+)\s*$", re.MULTILINE)
SECRET_RE = re.compile(r"^\s*(?:token|client-key-data|client-certificate-data|password):\s*(\S+)\s*$", re.MULTILINE)


def secret_values(text):
    """The credential values of a kubeconfig (tokens, client keys and certificates, passwords)."""
    return [value.strip("'\"") for value in SECRET_RE.findall(text) if len(value.strip("'\"")) >= 8]


def mask(module, content):
    """Have Ansible mask the kubeconfig's credentials wherever they might show (they are never returned)."""
    ansible_module = getattr(module, "module", None)
    if ansible_module is not None:
        text = content.decode("utf-8", "replace")
        ansible_module.no_log_values.update(secret_values(text) + [text])


def _file_state(path):
    """(sha256, mode) of the file, or (None, None) when it does not exist."""
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        return digest, os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return None, None


def write_private(path, content):
    """Write ``content`` to ``path`` atomically, readable by its owner only."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, DIR_MODE)
    handle, temporary = tempfile.mkstemp(prefix=".kubeconfig-", dir=directory)  # created 0600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def fetch(module, client, cluster_id):
    p = module.params
    credential = "clusterAdmin" if p["admin"] else "clusterUser"
    action = "listClusterAdminCredential" if p["admin"] else "listClusterUserCredential"
    path = "%s/%s" % (cluster_id, action)
    if p.get("format"):
        path += "?format=%s" % p["format"]
    what = "list %s credentials of AKS cluster %s" % ("admin" if p["admin"] else "user", p["cluster_name"])
    response = client.post(path, p["api_version"], action=what)
    configs = (response.body or {}).get("kubeconfigs") or []
    chosen = next((c for c in configs if c.get("name") == credential), configs[0] if configs else None)
    if not chosen or not chosen.get("value"):
        raise ArmError(response.status, "NoKubeconfig", "AKS returned no kubeconfig for %s" % p["cluster_name"],
                       action="list credentials of AKS cluster %s" % p["cluster_name"])
    try:
        return credential, base64.b64decode(chosen["value"], validate=True)
    except (binascii.Error, ValueError):
        raise ArmError(response.status, "InvalidKubeconfig", "the kubeconfig AKS returned is not base64",
                       action="list credentials of AKS cluster %s" % p["cluster_name"])


def run(module):
    p = module.params
    check_name("cluster_name", p["cluster_name"], aks.CLUSTER_NAME_RE, "an AKS cluster name")
    aks.check_api_version(p.get("api_version"))
    if p["admin"] and p.get("format"):
        raise InputError("format", "only applies to the user kubeconfig (admin=false)")
    path = os.path.abspath(p["path"])
    if os.path.isdir(path):
        raise InputError("path", "%s is a directory; give the kubeconfig file's path" % path)
    module.check_settings()
    before_sha, before_mode = _file_state(path)
    before = {"path": path, "sha256": before_sha, "mode": "%04o" % before_mode if before_mode is not None else None}
    credential = "clusterAdmin" if p["admin"] else "clusterUser"
    cluster_id = provider_id(module.subscription_id, p["resource_group"], "Microsoft.ContainerService/managedClusters",
                             p["cluster_name"])
    try:
        credential, content = fetch(module, module.client(), cluster_id)
    except ArmError as err:
        if not (module.check_mode and err.status == 404):
            raise
        # Check mode before the cluster exists (its creation was only reported): the file would be written.
        return {"changed": True, "path": path, "credential": credential, "mode": "%04o" % FILE_MODE, "sha256": None,
                "server": None, "diff": {"before": before, "after": {"path": path, "sha256": None,
                                                                     "mode": "%04o" % FILE_MODE}}}
    mask(module, content)
    digest = hashlib.sha256(content).hexdigest()
    changed = digest != before_sha or before_mode != FILE_MODE
    if changed and not module.check_mode:
        write_private(path, content)
    match = SERVER_RE.search(content.decode("utf-8", "replace"))
    return {"changed": changed, "path": path, "credential": credential, "mode": "%04o" % FILE_MODE,
            "sha256": digest, "server": match.group(1) if match else None,
            "diff": {"before": before, "after": {"path": path, "sha256": digest, "mode": "%04o" % FILE_MODE}}}


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            cluster_name=dict(type="str", required=True),
            path=dict(type="path", required=True),
            admin=dict(type="bool", default=False),
            format=dict(type="str", choices=["azure", "exec"]),
            api_version=dict(type="str", default=aks.DEFAULT_API_VERSION),
        ),
        wait=False,
    )
    module.run(run)


if __name__ == "__main__":
    main()
