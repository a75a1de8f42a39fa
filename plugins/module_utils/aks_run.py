# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reaching a private AKS API server without a network path: the run-command API over ARM.

``POST .../managedClusters/{name}/runCommand`` with ``{command, context, clusterToken}``
makes AKS start a pod in the cluster that runs ``command`` (a shell command line with
``kubectl`` and ``helm``) in a directory holding the files of ``context`` (a base64 zip).
ARM answers ``202`` with a ``Location`` of ``.../commandResults/{id}``, which answers
``202`` while the command runs and then ``200`` with ``{id, properties: {provisioningState,
exitCode, startedAt, finishedAt, logs, reason}}``. Clusters that use Entra ID get the
caller's token for the AKS server application as ``clusterToken``, so the command runs
with the caller's Kubernetes RBAC (no local account needed).

Also: the Entra token for the AKS server application that kubernetes.core takes as
``api_key`` when the API server *is* reachable (from the jump box).
"""

from __future__ import annotations

import base64
import io
import os
import shlex
import time
import zipfile

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import (
    AzureModuleError,
    InputError,
    WaitTimeout,
)

AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_SCOPE = AKS_SERVER_APP_ID + "/.default"
RESOURCE_TYPE = "Microsoft.ContainerService/managedClusters"
API_VERSION = "2025-10-01"
MARKER = "airgap.aks_inference:"
TERMINAL = ("succeeded", "failed", "canceled", "cancelled")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAX_POLL = 30.0
MIN_POLL = 0.05
LOG_TAIL = 4000


class RunCommandFailed(AzureModuleError):
    """The command pod could not run the command, or the command exited non-zero."""


def cluster_id(subscription_id, resource_group, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (
        subscription_id, resource_group, RESOURCE_TYPE, name)


def context_zip(directory=None, files=(), folder="manifests"):
    """``(base64 zip, [names in it])`` of a directory's files (under ``folder/``) and single files (at the top).

    Deterministic: sorted entries, fixed timestamps and modes, so the same files give the same body.
    """
    entries = []
    if directory:
        if not os.path.isdir(directory):
            raise InputError("context_dir", "%s is not a directory" % directory)
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not name.startswith("."):
                entries.append(("%s/%s" % (folder.strip("/"), name) if folder else name, path))
    for path in files or ():
        if not os.path.isfile(path):
            raise InputError("files", "%s is not a file" % path)
        entries.append((os.path.basename(path), path))
    names = [name for name, _path in entries]
    duplicates = sorted(set(name for name in names if names.count(name) > 1))
    if duplicates:
        raise InputError("files", "two files would have the same name in the context: %s" % ", ".join(duplicates))
    if not entries:
        return "", []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(path, "rb") as handle:
                archive.writestr(info, handle.read())
    return base64.b64encode(buffer.getvalue()).decode("ascii"), names


def apply_command(folder, field_manager, rollouts=(), timeout=1800):
    """The shell command that server-side applies ``folder/`` only when ``kubectl diff`` sees a difference.

    Prints ``airgap.aks_inference: unchanged`` or ``... applied``, then waits for each rollout
    (``namespace/deployment``). Exits non-zero when apply or a rollout fails.
    """
    flags = "--server-side --field-manager=%s --force-conflicts -f %s/" % (shlex.quote(field_manager),
                                                                           shlex.quote(folder.strip("/")))
    command = ("if kubectl diff %s >/dev/null 2>&1; then echo '%s unchanged'; "
               "else kubectl apply %s && echo '%s applied' || exit 1; fi" % (flags, MARKER, flags, MARKER))
    for rollout in rollouts or ():
        namespace, sep, name = str(rollout).partition("/")
        if not sep or not namespace or not name or "/" in name:
            raise InputError("rollouts", "%r is not namespace/deployment" % (rollout,))
        command += " && kubectl -n %s rollout status deployment/%s --timeout=%ds" % (
            shlex.quote(namespace), shlex.quote(name), int(timeout))
    return command


def applied_changes(logs):
    """``False`` when the apply command printed that it found nothing to change (a line of its own), else ``True``."""
    return not any(line.strip() == "%s unchanged" % MARKER for line in (logs or "").splitlines())


def request_body(command, context="", cluster_token=None):
    body = {"command": command, "context": context or ""}
    if cluster_token:
        body["clusterToken"] = cluster_token
    return body


def command_id_of(url):
    """The id at the end of a ``.../commandResults/{id}?api-version=...`` URL."""
    if not url:
        return None
    path = url.split("?", 1)[0].rstrip("/")
    if "/commandResults/" not in path:
        return None
    return path.rsplit("/", 1)[-1]


def _interval(response, default):
    value = response.header("Retry-After") if response is not None else None
    try:
        seconds = float(value) if value not in (None, "") else default
    except ValueError:
        seconds = default
    return min(MAX_POLL, max(MIN_POLL, seconds))


def _state(body):
    return str(((body or {}).get("properties") or {}).get("provisioningState") or "").lower()


def normalize(body, command_id=None):
    props = (body or {}).get("properties") or {}
    return {
        "command_id": (body or {}).get("id") or command_id,
        "provisioning_state": props.get("provisioningState"),
        "exit_code": props.get("exitCode"),
        "started_at": props.get("startedAt"),
        "finished_at": props.get("finishedAt"),
        "logs": props.get("logs") or "",
        "reason": props.get("reason"),
    }


def start(client, cid, body, api_version=API_VERSION):
    """POST the command; ``(response, command result URL)``."""
    response = client.post(cid + "/runCommand", api_version, body, action="run command on %s" % cid.rsplit("/", 1)[-1])
    return response, response.header("Location") or response.header("Azure-AsyncOperation")


def wait_for_result(client, response, url, deadline, what, poll=5.0, sleep=time.sleep):
    """Poll the command result until it is final; return it normalized."""
    body = response.body if response.status == 200 else None
    interval = _interval(response, poll)
    while _state(body) not in TERMINAL:
        if not url:
            raise RunCommandFailed("%s: Azure answered HTTP %s without a command result or a Location to poll"
                                   % (what, response.status))
        if deadline.remaining() <= 0:
            raise WaitTimeout("timed out after %ds waiting for %s (command %s); the command may still be running in "
                              "the cluster" % (deadline.seconds, what, command_id_of(url)), timeout=deadline.seconds)
        sleep(min(interval, deadline.remaining()))
        current = client.poll(url)
        interval = _interval(current, poll)
        if current.status == 200 and current.body:
            body = current.body
    return normalize(body, command_id_of(url))


def check_result(result, what):
    """Raise RunCommandFailed unless the command ran and exited 0."""
    state = str(result.get("provisioning_state") or "").lower()
    tail = (result.get("logs") or "")[-LOG_TAIL:]
    if state != "succeeded":
        raise RunCommandFailed("%s: the command pod ended %s: %s" % (
            what, result.get("provisioning_state"), result.get("reason") or "no reason given"), command=result)
    if result.get("exit_code") not in (0, None):
        raise RunCommandFailed("%s: the command exited %s: %s" % (what, result.get("exit_code"), tail.strip()),
                               command=result)
    return result
