#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_run_command
short_description: Run kubectl in a private AKS cluster through the run-command API of Azure Resource Manager
version_added: 0.1.0
description:
  - Sends C(POST .../managedClusters/{name}/runCommand) with a command line and files; AKS runs the command in a
    pod inside the cluster, where C(kubectl) and C(helm) reach the private API server. Use it where Ansible has no
    network path to the API server (no jump box, no VPN); everything goes through Azure Resource Manager.
  - Files are attached as the request's C(context), a base64 zip; the command runs in the directory they are
    unpacked to.
  - With O(apply_dir), the module builds the command itself - C(kubectl diff --server-side) first, C(kubectl apply
    --server-side) only when something differs, then C(kubectl rollout status) for each of O(rollouts) - and
    reports C(changed) only when something was applied.
  - With O(command), the module runs that command line and reports C(changed).
  - The result (exit code and logs) is awaited by polling C(commandResults/{id}) until O(wait_timeout); the task
    fails when the command pod could not run or the command exited non-zero.
  - On clusters with Entra ID the command runs with the caller's identity (O(cluster_token)), so Azure RBAC for
    Kubernetes applies and no local account is needed.
options:
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  cluster_name:
    description: Name of the AKS cluster.
    type: str
    required: true
  command:
    description: The command line to run (a shell command, for example V(kubectl get pods -A)).
    type: str
  apply_dir:
    description:
      - A directory of manifests to server-side apply (its files, not recursive, in name order).
      - Mutually exclusive with O(command) and O(context_dir).
    type: path
  rollouts:
    description: Deployments (V(namespace/name)) whose rollout O(apply_dir) waits for.
    type: list
    elements: str
    default: []
  rollout_timeout:
    description: Seconds C(kubectl rollout status) waits for each of O(rollouts).
    type: int
    default: 1800
  field_manager:
    description: Field manager of the server-side apply.
    type: str
    default: airgap.aks_inference
  context_dir:
    description: A directory whose files are attached, under O(context_folder)/, for O(command).
    type: path
  context_folder:
    description: Folder the files of O(context_dir) or O(apply_dir) are unpacked to, relative to the command's directory.
    type: str
    default: manifests
  files:
    description: Single files to attach (at the top of the command's directory).
    type: list
    elements: path
    default: []
  cluster_token:
    description:
      - Send an Entra token of the caller for the AKS server application (C(6dae42f8-4368-4678-94ff-3960e28e3630))
        as C(clusterToken), as C(az aks command invoke) does for clusters with Entra ID.
      - Set V(false) for a cluster with local accounts.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
attributes:
  check_mode:
    support: partial
    details:
      - In check mode no command is sent (it would be a POST to Azure Resource Manager); the module reports
        C(changed) and the command and files it would send, but cannot tell whether anything would change in
        the cluster.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    description: Use C(group/airgap.aks_inference.azure) in C(module_defaults) to set the Azure connection once.
    membership:
      - airgap.aks_inference.azure
notes:
  - With O(wait=false) the module returns once Azure has accepted the command, with RV(command_id).
  - The cluster must not have the run command disabled (C(apiServerAccessProfile.disableRunCommand)).
seealso:
  - name: AKS command invoke
    description: Access a private AKS cluster using the command invoke feature.
    link: https://learn.microsoft.com/azure/aks/access-private-cluster
"""

EXAMPLES = r"""
- name: Apply rendered manifests to a private cluster over ARM and wait for the rollout
  airgap.aks_inference.aks_run_command:
    resource_group: rg-llm-isolated
    cluster_name: aks-llm
    apply_dir: "{{ manifest_dir }}"
    rollouts: [inference/llm]
    rollout_timeout: 2400
    wait_timeout: 3000

- name: Any kubectl command
  airgap.aks_inference.aks_run_command:
    resource_group: rg-llm-isolated
    cluster_name: aks-llm
    command: kubectl get nodes -o wide
  register: nodes
"""

RETURN = r"""
command_id:
  description: Id of the command result.
  returned: when the command was sent
  type: str
  sample: 0e9872e6629349dc865e27ee6f8bab2d
provisioning_state:
  description: How the command pod ended (V(Succeeded), V(Failed)).
  returned: when the command was awaited
  type: str
  sample: Succeeded
exit_code:
  description: Exit code of the command.
  returned: when the command was awaited
  type: int
  sample: 0
logs:
  description: Output of the command.
  returned: when the command was awaited
  type: str
  sample: "deployment.apps/llm serverside-applied"
started_at:
  description: When the command started.
  returned: when the command was awaited
  type: str
finished_at:
  description: When the command finished.
  returned: when the command was awaited
  type: str
reason:
  description: Why the command pod failed.
  returned: when the command pod failed
  type: str
command:
  description: The command line sent.
  returned: always
  type: str
files:
  description: Names of the files attached, as the command sees them.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.aks_run import (
    AKS_SCOPE,
    API_VERSION,
    apply_command,
    applied_changes,
    check_result,
    cluster_id,
    command_id_of,
    context_zip,
    request_body,
    start,
    wait_for_result,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_auth import build_credential
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import AuthenticationError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import AzureModule, check_name

ARGUMENT_SPEC = dict(
    resource_group=dict(type="str", required=True),
    cluster_name=dict(type="str", required=True),
    command=dict(type="str"),
    apply_dir=dict(type="path"),
    rollouts=dict(type="list", elements="str", default=[]),
    rollout_timeout=dict(type="int", default=1800),
    field_manager=dict(type="str", default="airgap.aks_inference"),
    context_dir=dict(type="path"),
    context_folder=dict(type="str", default="manifests"),
    files=dict(type="list", elements="path", default=[]),
    cluster_token=dict(type="bool", default=True, no_log=False),
)


def cluster_token(module):
    """The caller's Entra token for the AKS server application."""
    try:
        return build_credential(module.settings).get_token(AKS_SCOPE).token
    except ImportError as exc:
        raise AuthenticationError("azure-identity is required for cluster_token: %s" % exc)
    except Exception as exc:  # pylint: disable=broad-except
        raise AuthenticationError("could not get a token for the AKS server application (%s): %s"
                                  % (AKS_SCOPE, str(exc).strip().splitlines()[0] if str(exc).strip() else exc))


def run(module):
    params = module.params
    check_name("cluster_name", params["cluster_name"], what="an AKS cluster name")
    if params["apply_dir"]:
        command = apply_command(params["context_folder"], params["field_manager"], params["rollouts"],
                                params["rollout_timeout"])
        context, names = context_zip(directory=params["apply_dir"], files=params["files"],
                                     folder=params["context_folder"])
        if not any(name.startswith(params["context_folder"].strip("/") + "/") for name in names):
            raise InputError("apply_dir", "%s holds no file to apply" % params["apply_dir"])
    else:
        command = params["command"]
        context, names = context_zip(directory=params["context_dir"], files=params["files"],
                                     folder=params["context_folder"])
    if not command or not command.strip():
        raise InputError("command", "the command line is empty")
    module.check_settings()
    result = {"changed": True, "command": command, "files": names}
    if module.check_mode:
        result["msg"] = "check mode: the command was not sent"
        return result
    token = cluster_token(module) if params["cluster_token"] else None
    cid = cluster_id(module.subscription_id, params["resource_group"], params["cluster_name"])
    client = module.client()
    response, url = start(client, cid, request_body(command, context, token), API_VERSION)
    result["command_id"] = command_id_of(url)
    if not params["wait"]:
        return result
    what = "the command on cluster %s" % params["cluster_name"]
    outcome = check_result(wait_for_result(client, response, url, module.deadline(), what,
                                           poll=params["poll_interval"]), what)
    result.update(outcome)
    if params["apply_dir"]:
        result["changed"] = applied_changes(outcome["logs"])
    return result


def main():
    module = AzureModule(ARGUMENT_SPEC, mutually_exclusive=[("command", "apply_dir"), ("context_dir", "apply_dir")],
                         required_one_of=[("command", "apply_dir")])
    module.run(run)


if __name__ == "__main__":
    main()
