#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: virtual_machine
short_description: Create, update or delete an Azure Linux virtual machine reached by SSH key only
version_added: 0.1.0
description:
  - Ensures a Linux virtual machine from a platform or marketplace image, with a system-assigned managed
    identity, SSH public keys and password authentication turned off (always; the module has no password
    option), existing network interfaces, an OS disk and managed data disks.
  - Made for the GPU jump box of a network-isolated cluster, for example a C(Standard_NC24ads_A100_v4) with
    Ubuntu 24.04 and a data disk for the model cache.
  - What Azure cannot change on an existing VM (image, plan, zone, admin user name, SSH keys, computer name)
    is refused before any write; delete and recreate the VM to change it. The size and the disks can change.
  - Data disks not listed stay attached. Disks with O(data_disks[].delete_option=Delete) and an OS disk with
    O(os_disk.delete_option=Delete) are deleted together with the VM; network interfaces are only detached.
options:
  resource_group:
    description: Resource group of the virtual machine.
    type: str
    required: true
  name:
    description: Name of the virtual machine (1 to 64 characters).
    type: str
    required: true
  location:
    description: Azure region. Required to create the VM; cannot change afterwards.
    type: str
  size:
    description:
      - VM size, for example V(Standard_NC24ads_A100_v4) (one NVIDIA A100 80 GB). Required to create the VM.
      - Resizing an existing VM restarts it.
    type: str
  zone:
    description: Availability zone; none for a regional VM. Cannot change.
    type: str
    choices: ['1', '2', '3']
  image:
    description:
      - Platform or marketplace image. Required to create the VM; cannot change.
      - Ubuntu 24.04 LTS is V(Canonical) / V(ubuntu-24_04-lts) / V(server); the Azure HPC/AI image (NVIDIA
        driver, CUDA, NCCL) is V(microsoft-dsvm) / V(ubuntu-hpc) / V(2404); the NVIDIA GPU-optimized VMI is
        V(nvidia) / V(ngc_azure_17_11) / an C(ngc-base-version-...) SKU and needs O(plan).
    type: dict
    suboptions:
      publisher:
        description: Image publisher.
        type: str
        required: true
      offer:
        description: Image offer.
        type: str
        required: true
      sku:
        description: Image SKU.
        type: str
        required: true
      version:
        description: Image version, or V(latest).
        type: str
        default: latest
  plan:
    description:
      - Marketplace purchase plan, for images that have one (the NVIDIA VMI). An empty mapping takes the plan
        from O(image) (name = SKU, product = offer, publisher = publisher).
      - The plan's terms must have been accepted once in the subscription (C(az vm image terms accept)).
    type: dict
    suboptions:
      name:
        description: Plan name, usually the image SKU.
        type: str
      product:
        description: Plan product, usually the image offer.
        type: str
      publisher:
        description: Plan publisher, usually the image publisher.
        type: str
  admin_username:
    description: Name of the administrator account. Required to create the VM; cannot change.
    type: str
  ssh_public_keys:
    description:
      - OpenSSH public keys (C(ssh-ed25519 ...), or C(ssh-rsa ...) of 2048 bits or more) written to the admin
        user's C(~/.ssh/authorized_keys). Required to create the VM; cannot change (Azure refuses).
      - A private key or anything else is refused before any request, without repeating the value; the values
        are not logged in case a private key is pasted here by mistake.
    type: list
    elements: str
  computer_name:
    description: Host name of the VM. Defaults to O(name). Cannot change.
    type: str
  network_interfaces:
    description:
      - Names (in O(resource_group)) or resource ids of existing network interfaces; the first one is the
        primary. Required to create the VM. They are detached, not deleted, when the VM is deleted.
    type: list
    elements: str
  os_disk:
    description: OS disk.
    type: dict
    suboptions:
      size_gb:
        description: Size in GiB, at least the image's (30 for Ubuntu), at most 4095. It can grow, never shrink.
        type: int
      storage_account_type:
        description: Disk type.
        type: str
        choices: [Standard_LRS, StandardSSD_LRS, Premium_LRS, StandardSSD_ZRS, Premium_ZRS]
      caching:
        description: Host caching.
        type: str
        choices: ['None', ReadOnly, ReadWrite]
        default: ReadWrite
      delete_option:
        description: Whether the disk is deleted with the VM or kept.
        type: str
        choices: [Delete, Detach]
        default: Delete
      name:
        description: Name of the managed disk. Cannot change.
        type: str
  data_disks:
    description:
      - Empty managed data disks, for example the model cache. Listed disks are created or updated (a size can
        grow, never shrink); disks not listed stay attached.
    type: list
    elements: dict
    suboptions:
      lun:
        description: Logical unit number, 0 to 63, unique.
        type: int
        required: true
      size_gb:
        description: Size in GiB, 1 to 32767.
        type: int
        required: true
      storage_account_type:
        description: Disk type. Premium SSD v2 needs caching V(None).
        type: str
        choices: [Standard_LRS, StandardSSD_LRS, Premium_LRS, StandardSSD_ZRS, Premium_ZRS, PremiumV2_LRS]
        default: Premium_LRS
      caching:
        description: Host caching; V(None) for disks of 4 TiB or more.
        type: str
        choices: ['None', ReadOnly, ReadWrite]
        default: 'None'
      delete_option:
        description: Whether the disk is deleted with the VM or kept.
        type: str
        choices: [Delete, Detach]
        default: Delete
      name:
        description: Name of the managed disk. Defaults to C(<name>-datadisk-<lun>).
        type: str
  boot_diagnostics:
    description: Boot diagnostics with managed storage (serial console).
    type: bool
  state:
    description: Whether the virtual machine should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.tags
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: GPU jump box, Ubuntu 24.04, 1 TiB model cache
  airgap.aks_inference.virtual_machine:
    resource_group: rg-llm-isolated
    name: vm-jumpbox
    location: westeurope
    size: Standard_NC24ads_A100_v4
    image:
      publisher: Canonical
      offer: ubuntu-24_04-lts
      sku: server
    admin_username: azureuser
    ssh_public_keys:
      - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    network_interfaces: [vm-jumpbox-nic]
    os_disk:
      size_gb: 256
      storage_account_type: Premium_LRS
    data_disks:
      - lun: 0
        size_gb: 1024
        caching: ReadOnly
  register: jumpbox

- name: The NVIDIA GPU-optimized VMI instead (marketplace plan taken from the image)
  airgap.aks_inference.virtual_machine:
    resource_group: rg-llm-isolated
    name: vm-jumpbox-ngc
    location: westeurope
    size: Standard_NC24ads_A100_v4
    image:
      publisher: nvidia
      offer: ngc_azure_17_11
      sku: ngc-base-version-24_03_4_gen2
    plan: {}
    admin_username: azureuser
    ssh_public_keys: ["{{ jumpbox_public_key }}"]
    network_interfaces: [vm-jumpbox-ngc-nic]
"""

RETURN = r"""
id:
  description: Resource id of the virtual machine.
  returned: always
  type: str
principal_id:
  description: Object id of the VM's system-assigned identity (for role assignments such as AcrPush).
  returned: when the VM exists
  type: str
private_ip_address:
  description: Private IP address of the primary network interface.
  returned: when known
  type: str
admin_username:
  description: The administrator account.
  returned: when the VM exists or is being created
  type: str
state:
  description: The virtual machine as Azure reports it (empty when absent); SSH keys are masked.
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

import copy
import re

from ansible_collections.airgap.aks_inference.plugins.module_utils import vm_input
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import ArmError, InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    ensure,
    provider_id,
    reference_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable

API_VERSION = "2024-07-01"
NIC_API_VERSION = "2024-05-01"
NIC = "Microsoft.Network/networkInterfaces"
IMAGE_VERSION_RE = re.compile(r"^(latest|\d+(\.\d+){0,3})$")
STORAGE = "properties.storageProfile."
DISK = STORAGE + "dataDisks[]."
# Data disk fields Azure reports but does not take back.
DATA_DISK_READ_ONLY = ("diskIOPSReadWrite", "diskMBpsReadWrite")


def _merged(base, overlay):
    """``overlay`` written over a copy of ``base``; mappings merge, everything else is replaced."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return copy.deepcopy(overlay)
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        out[key] = _merged(out.get(key), value) if isinstance(out.get(key), dict) else copy.deepcopy(value)
    return out


class VirtualMachine(ArmResource):
    resource_type = "Microsoft.Compute/virtualMachines"
    api_version = API_VERSION
    writable_top_level = ("location", "tags", "properties", "identity", "zones", "plan", "extendedLocation")
    read_only_properties = ("provisioningState", "vmId", "timeCreated", "instanceView")
    required_on_create = ("location", "size", "image", "admin_username", "ssh_public_keys", "network_interfaces")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "zones": Field("set", updatable=False),
            "plan": Field("subset", updatable=False),
            "plan.name": Field("ci", updatable=False),
            "plan.product": Field("ci", updatable=False),
            "plan.publisher": Field("ci", updatable=False),
            "identity.type": Field("ci"),
            "properties.hardwareProfile.vmSize": Field("ci"),
            STORAGE + "imageReference": Field("subset", updatable=False),
            STORAGE + "imageReference.publisher": Field("ci", updatable=False),
            STORAGE + "imageReference.offer": Field("ci", updatable=False),
            STORAGE + "imageReference.sku": Field("ci", updatable=False),
            STORAGE + "imageReference.version": Field("ci", updatable=False),
            STORAGE + "osDisk.createOption": Field("ci", updatable=False),
            STORAGE + "osDisk.name": Field("ci", updatable=False),
            STORAGE + "osDisk.caching": Field("ci"),
            STORAGE + "osDisk.deleteOption": Field("ci"),
            STORAGE + "osDisk.managedDisk.storageAccountType": Field("ci"),
            STORAGE + "dataDisks": Field("keyed", key="lun", purge=False),
            DISK + "name": Field("ci"),
            DISK + "createOption": Field("ci"),
            DISK + "caching": Field("ci"),
            DISK + "deleteOption": Field("ci"),
            DISK + "managedDisk.storageAccountType": Field("ci"),
            "properties.osProfile": Field("subset", updatable=False),
            "properties.osProfile.computerName": Field("ci", updatable=False),
            "properties.osProfile.linuxConfiguration.ssh.publicKeys": Field("keyed", key="keyData", updatable=False),
            "properties.networkProfile.networkInterfaces": Field("keyed", key="id"),
            "properties.networkProfile.networkInterfaces[].properties.deleteOption": Field("ci"),
        }
    )

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    # -- input -----------------------------------------------------------------------
    def computer_name(self):
        p = self.params
        if p.get("computer_name"):
            return p["computer_name"]
        return p["name"] if p.get("admin_username") else None

    def validate(self):
        p = self.params
        check_name("name", p["name"])
        if len(p["name"]) > 64:
            raise InputError("name", "a Linux VM name has at most 64 characters, got %d" % len(p["name"]))
        if p.get("state") == "absent":
            return
        checks = [("size", vm_input.vm_size_problem(p["size"]) if p.get("size") else None)]
        if p.get("admin_username") is not None:
            checks.append(("admin_username", vm_input.admin_username_problem(p["admin_username"])))
        name = self.computer_name()
        if name is not None:
            problem = vm_input.computer_name_problem(name)
            if problem and not p.get("computer_name"):
                problem += " (it defaults to the VM name: set computer_name)"
            checks.append(("computer_name", problem))
        for field, problem in checks:
            if problem:
                raise InputError(field, problem)
        keys = p.get("ssh_public_keys")
        if keys is not None:
            if not p.get("admin_username"):
                raise InputError("admin_username", "is required with ssh_public_keys (the keys go to its home)")
            if not keys:
                raise InputError("ssh_public_keys", "needs at least one public key: password authentication is off")
            for index, key in enumerate(keys):
                problem = vm_input.ssh_public_key_problem(key)
                if problem:
                    raise InputError("ssh_public_keys[%d]" % index, problem)
        image = p.get("image")
        if image is not None and not IMAGE_VERSION_RE.match(str(image.get("version") or "")):
            raise InputError("image.version", "%r is not 'latest' nor a version such as 1.2.3" % image.get("version"))
        plan = p.get("plan")
        if plan is not None and image is None and not all(plan.get(k) for k in ("name", "product", "publisher")):
            raise InputError("plan", "needs name, product and publisher, or image to take them from")
        os_disk = p.get("os_disk")
        if os_disk is not None:
            problem = vm_input.disk_problem(os_disk.get("size_gb"), os_disk.get("caching"),
                                            os_disk.get("storage_account_type"), os_disk=True)
            if problem:
                raise InputError("os_disk", problem)
        self._validate_data_disks()
        for index, nic in enumerate(p.get("network_interfaces") or []):
            if not str(nic).startswith("/subscriptions/"):
                check_name("network_interfaces[%d]" % index, nic)
        if p.get("network_interfaces") is not None and not p["network_interfaces"]:
            raise InputError("network_interfaces", "needs at least one network interface")

    def _validate_data_disks(self):
        seen_luns = {}
        seen_names = {}
        for index, disk in enumerate(self.params.get("data_disks") or []):
            field = "data_disks[%d]" % index
            if not 0 <= disk["lun"] <= 63:
                raise InputError(field + ".lun", "must be 0 to 63, got %d" % disk["lun"])
            if disk["lun"] in seen_luns:
                raise InputError(field + ".lun", "%d is already used by data_disks[%d]"
                                 % (disk["lun"], seen_luns[disk["lun"]]))
            seen_luns[disk["lun"]] = index
            name = self.data_disk_name(disk)
            check_name(field + ".name", name)
            if name.lower() in seen_names:
                raise InputError(field + ".name", "%s is already used by data_disks[%d]"
                                 % (name, seen_names[name.lower()]))
            seen_names[name.lower()] = index
            problem = vm_input.disk_problem(disk["size_gb"], disk.get("caching"), disk.get("storage_account_type"))
            if problem:
                raise InputError(field, problem)

    def data_disk_name(self, disk):
        return disk.get("name") or "%s-datadisk-%d" % (self.params["name"], disk["lun"])

    # -- shapes ----------------------------------------------------------------------
    def plan(self):
        plan = self.params.get("plan")
        if plan is None:
            return None
        image = self.params.get("image") or {}
        return {"name": plan.get("name") or image.get("sku"), "product": plan.get("product") or image.get("offer"),
                "publisher": plan.get("publisher") or image.get("publisher")}

    def desired(self):
        p = self.params
        image = p.get("image")
        storage = {}
        if image is not None:
            storage["imageReference"] = {"publisher": image["publisher"], "offer": image["offer"],
                                         "sku": image["sku"], "version": image["version"]}
        os_disk = dict(p.get("os_disk") or {})
        os_props = {
            "createOption": "FromImage" if image is not None else None,
            "name": os_disk.get("name"),
            "diskSizeGB": os_disk.get("size_gb"),
            "caching": os_disk.get("caching"),
            "deleteOption": os_disk.get("delete_option"),
        }
        if os_disk.get("storage_account_type"):
            os_props["managedDisk"] = {"storageAccountType": os_disk["storage_account_type"]}
        storage["osDisk"] = os_props
        if p.get("data_disks") is not None:
            storage["dataDisks"] = [
                {
                    "lun": disk["lun"],
                    "name": self.data_disk_name(disk),
                    "createOption": "Empty",
                    "diskSizeGB": disk["size_gb"],
                    "caching": disk["caching"],
                    "deleteOption": disk["delete_option"],
                    "managedDisk": {"storageAccountType": disk["storage_account_type"]},
                }
                for disk in sorted(p["data_disks"], key=lambda d: d["lun"])
            ]
        props = {"hardwareProfile": {"vmSize": p.get("size")}, "storageProfile": storage}
        if p.get("admin_username") is not None or p.get("ssh_public_keys") is not None or p.get("computer_name"):
            linux = {"disablePasswordAuthentication": True}
            if p.get("ssh_public_keys") is not None:
                keys = []
                for key in p["ssh_public_keys"]:
                    entry = {"path": "/home/%s/.ssh/authorized_keys" % p["admin_username"],
                             "keyData": vm_input.normalize_ssh_key(key)}
                    if entry not in keys:
                        keys.append(entry)
                linux["ssh"] = {"publicKeys": keys}
            props["osProfile"] = {"computerName": self.computer_name(), "adminUsername": p.get("admin_username"),
                                  "linuxConfiguration": linux}
        nics = p.get("network_interfaces")
        if nics is not None:
            props["networkProfile"] = {"networkInterfaces": [
                {"id": reference_id(self.module, nic, NIC), "properties": {"primary": index == 0, "deleteOption": "Detach"}}
                for index, nic in enumerate(nics)
            ]}
        if p.get("boot_diagnostics") is not None:
            props["diagnosticsProfile"] = {"bootDiagnostics": {"enabled": p["boot_diagnostics"]}}
        return {
            "location": p.get("location"),
            "zones": [p["zone"]] if p.get("zone") else None,
            "plan": self.plan(),
            "identity": {"type": "SystemAssigned"},
            "properties": props,
        }

    def normalize(self, body):
        out = copy.deepcopy(body)
        out["zones"] = list(body.get("zones") or [])
        identity = out.get("identity") or {}
        kind = str(identity.get("type") or "None")
        out["identity"] = dict(identity, type="SystemAssigned" if "systemassigned" in kind.lower() else kind)
        linux = ((out.get("properties") or {}).get("osProfile") or {}).get("linuxConfiguration") or {}
        for key in (linux.get("ssh") or {}).get("publicKeys") or []:
            key["keyData"] = vm_input.normalize_ssh_key(key.get("keyData"))
        return out

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        current = current or {}
        # Identity: keep user-assigned identities, never send the read-only ids.
        identity = current.get("identity") or {}
        if "userassigned" in str(identity.get("type", "")).lower():
            body["identity"] = {"type": "SystemAssigned, UserAssigned",
                                "userAssignedIdentities": dict((k, {}) for k in identity.get("userAssignedIdentities") or {})}
        else:
            body["identity"] = {"type": "SystemAssigned"}
        storage = props.setdefault("storageProfile", {})
        (storage.get("imageReference") or {}).pop("exactVersion", None)
        wanted = (desired.get("properties") or {}).get("storageProfile", {}).get("dataDisks")
        if wanted is not None:
            existing = dict((str(d.get("lun")), d) for d in
                            ((current.get("properties") or {}).get("storageProfile") or {}).get("dataDisks") or [])
            disks = []
            for disk in wanted:
                base = existing.pop(str(disk["lun"]), None)
                if base is not None:
                    base = dict((k, v) for k, v in base.items() if k not in DATA_DISK_READ_ONLY)
                disks.append(_merged(base, disk) if base is not None else copy.deepcopy(disk))
            for disk in existing.values():  # attached elsewhere: kept as they are
                disks.append(dict((k, v) for k, v in disk.items() if k not in DATA_DISK_READ_ONLY))
            storage["dataDisks"] = sorted(disks, key=lambda d: int(d.get("lun", 0)))
        return body

    def result(self, body):
        out = super().result(body)
        if not body:
            return out
        for key in ((out.get("properties") or {}).get("osProfile") or {}).get("linuxConfiguration", {}).get(
                "ssh", {}).get("publicKeys") or []:
            key["keyData"] = vm_input.normalize_ssh_key(key.get("keyData"))
        out["principal_id"] = (body.get("identity") or {}).get("principalId")
        out["admin_username"] = ((body.get("properties") or {}).get("osProfile") or {}).get("adminUsername")
        out["private_ip_address"] = self.private_ip(body)
        return out

    def private_ip(self, body):
        nics = ((body.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []
        primary = [n for n in nics if (n.get("properties") or {}).get("primary")] or nics
        if not primary or not primary[0].get("id"):
            return None
        try:
            nic = self.module.client().get(primary[0]["id"], NIC_API_VERSION)
        except ArmError:
            return None
        configs = ((nic or {}).get("properties") or {}).get("ipConfigurations") or []
        primary_configs = [c for c in configs if (c.get("properties") or {}).get("primary")] or configs
        return (primary_configs[0].get("properties") or {}).get("privateIPAddress") if primary_configs else None


def run(module):
    result = ensure(module, VirtualMachine(module))
    state = result.get("state") or {}
    for key in ("principal_id", "private_ip_address", "admin_username"):
        if state.get(key):
            result[key] = state[key]
    return result


ARGUMENT_SPEC = dict(
    resource_group=dict(type="str", required=True),
    name=dict(type="str", required=True),
    location=dict(type="str"),
    size=dict(type="str"),
    zone=dict(type="str", choices=["1", "2", "3"]),
    image=dict(type="dict", options=dict(
        publisher=dict(type="str", required=True),
        offer=dict(type="str", required=True),
        sku=dict(type="str", required=True),
        version=dict(type="str", default="latest"),
    )),
    plan=dict(type="dict", options=dict(
        name=dict(type="str"),
        product=dict(type="str"),
        publisher=dict(type="str"),
    )),
    admin_username=dict(type="str"),
    ssh_public_keys=dict(type="list", elements="str", no_log=True),
    computer_name=dict(type="str"),
    network_interfaces=dict(type="list", elements="str"),
    os_disk=dict(type="dict", options=dict(
        size_gb=dict(type="int"),
        storage_account_type=dict(type="str", choices=list(vm_input.OS_DISK_TYPES)),
        caching=dict(type="str", choices=list(vm_input.CACHING), default="ReadWrite"),
        delete_option=dict(type="str", choices=["Delete", "Detach"], default="Delete"),
        name=dict(type="str"),
    )),
    data_disks=dict(type="list", elements="dict", options=dict(
        lun=dict(type="int", required=True),
        size_gb=dict(type="int", required=True),
        storage_account_type=dict(type="str", choices=list(vm_input.DATA_DISK_TYPES),
                                  default="Premium_LRS"),
        caching=dict(type="str", choices=list(vm_input.CACHING), default="None"),
        delete_option=dict(type="str", choices=["Delete", "Detach"], default="Delete"),
        name=dict(type="str"),
    )),
    boot_diagnostics=dict(type="bool"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


def main():
    module = AzureModule(ARGUMENT_SPEC, tags=True)
    module.run(run)


if __name__ == "__main__":
    main()
