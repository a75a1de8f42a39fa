"""Microsoft.Compute: virtualMachines (Linux) and the managed disks they create.

Facts and rules (compute REST reference, Microsoft Learn; error codes as Azure reports them where
public error reports show them, descriptive ones otherwise; every message names the value):

virtualMachines
  * PUT, PATCH (a merge) and DELETE are long-running (Azure-AsyncOperation under
    /subscriptions/{sub}/providers/Microsoft.Compute/locations/{region}/operations/{id}); a create
    reports ``Creating``, an update ``Updating``; 120 s at time scale 1 (delete 60 s).
  * ``hardwareProfile.vmSize`` is required and must look like a size name (``Standard_...``); the
    emulator does not know which sizes a region offers.
  * ``storageProfile.imageReference`` is required to create a VM and must name an image of the small
    catalog below (``PlatformImageNotFound``, 404, target ``imageReference``). Marketplace images with
    a purchase plan need ``plan`` equal to publisher / offer (product) / SKU (name): without it the
    create operation ends Failed with ``VMMarketplaceInvalidInput`` (Azure's message), as in Azure.
  * ``osDisk``: ``createOption`` FromImage; ``diskSizeGB`` at least the image's (30 GiB here) and at
    most 4095; types Standard_LRS, StandardSSD_LRS, Premium_LRS, StandardSSD_ZRS, Premium_ZRS.
  * ``dataDisks``: ``lun`` 0 to 63, unique; ``createOption`` Empty (``diskSizeGB`` 1 to 32767
    required) or Attach (``managedDisk.id`` of an unattached disk); names unique; host caching only
    below 4 TiB and never on PremiumV2_LRS; a disk cannot shrink (``ResizeDiskError``).
  * ``osProfile``: ``adminUsername`` 1 to 64 characters, not a reserved name ("admin", "root", ...);
    with ``linuxConfiguration.disablePasswordAuthentication`` false (or absent) an ``adminPassword``
    is required (``InvalidParameter``, target ``adminPassword``); with true at least one SSH key.
    SSH keys go to ``/home/<adminUsername>/.ssh/authorized_keys`` and must be ssh-rsa of 2048 bits or
    more or ssh-ed25519 (``InvalidParameter``, target ``linuxConfiguration.ssh.publicKeys.keyData``).
    ``adminPassword`` is accepted and never returned.
  * ``networkProfile.networkInterfaces``: at least one existing interface in the VM's region, not
    used by another VM (``NicInUse``); with several, exactly one primary.
  * ``identity.type`` SystemAssigned gives ``principalId`` and ``tenantId`` (kept while the identity
    stays); ``zones`` at most one of "1", "2", "3".
  * On an existing VM, ``imageReference``, ``plan``, ``zones``, ``osProfile`` (computer name, user,
    password setting, SSH keys) and disk names cannot change (``PropertyChangeNotAllowed``).
  * The VM creates its managed disks (``Microsoft.Compute/disks``, ``managedBy`` the VM); deleting
    it deletes the disks and interfaces whose ``deleteOption`` is Delete and detaches the others.

disks
  * PUT/PATCH/DELETE long-running (10 s); an attached disk cannot be deleted (``OperationNotAllowed``,
    409); a standalone PUT supports ``creationData.createOption`` Empty; a disk cannot shrink.
"""
import base64
import binascii
import copy
import datetime
import re
import struct

from ..errors import ArmError, bad_request, conflict
from ..registry import ResourceType, get_type, register
from ..store import Record
from ..util import canonical_enum, check_bool, check_int, check_list, check_object, ref_id

VM = "Microsoft.Compute/virtualMachines"
DISK = "Microsoft.Compute/disks"
NIC = "Microsoft.Network/networkInterfaces"
COMPUTE_API_VERSIONS = ("2023-03-01", "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01")
DISK_API_VERSIONS = ("2023-04-02", "2023-10-02", "2024-03-02", "2025-01-02")

# (publisher, offer, SKU pattern, purchase plan required). Versions: "latest" or any dotted number.
IMAGES = (
    ("Canonical", "ubuntu-24_04-lts", r"server|server-gen1|server-arm64|minimal|minimal-gen1|cvm", False),
    ("Canonical", "0001-com-ubuntu-server-jammy", r"22_04-lts|22_04-lts-gen2|22_04-lts-arm64", False),
    ("microsoft-dsvm", "ubuntu-hpc", r"2204|2404|2204-rocm", False),
    ("microsoft-dsvm", "ubuntu-2204", r"2204-gen2", False),
    ("nvidia", "ngc_azure_17_11", r"ngc-base-version-[0-9_]+(-gen2|_gen2)?", True),
)
IMAGE_OS_DISK_GB = 30
VERSION_RE = re.compile(r"^(latest|\d+(\.\d+){0,3})$", re.IGNORECASE)
SIZE_RE = re.compile(r"^(Standard|Basic)_[A-Za-z0-9_]+$", re.IGNORECASE)
RESERVED_USERNAMES = frozenset("""
administrator admin user user1 test user2 test1 user3 admin1 1 123 a actuser adm admin2 aspnet backup
console david guest john owner root server sql support support_388945a0 sys test2 test3 user4 user5
""".split())
OS_DISK_TYPES = ["Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "StandardSSD_ZRS", "Premium_ZRS"]
DISK_TYPES = OS_DISK_TYPES + ["PremiumV2_LRS", "UltraSSD_LRS"]
CACHING = ["None", "ReadOnly", "ReadWrite"]
DELETE_OPTIONS = ["Delete", "Detach"]
IDENTITY_TYPES = ["SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"]


def invalid_parameter(message, target):
    return ArmError(400, "InvalidParameter", message, target=target)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0+00:00")


def _find_image(ref):
    for publisher, offer, sku, plan in IMAGES:
        if str(ref.get("publisher", "")).lower() == publisher.lower() and \
                str(ref.get("offer", "")).lower() == offer.lower() and \
                re.fullmatch(sku, str(ref.get("sku", "")), re.IGNORECASE):
            return {"publisher": publisher, "offer": offer, "plan": plan}
    return None


def _ssh_key_ok(text):
    parts = str(text or "").split()
    if len(parts) < 2 or parts[0] not in ("ssh-rsa", "ssh-ed25519"):
        return False
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        if blob[4:4 + length].decode("ascii", "replace") != parts[0]:
            return False
        offset = 4 + length
        fields = []
        while offset < len(blob):
            (length,) = struct.unpack(">I", blob[offset:offset + 4])
            fields.append(blob[offset + 4:offset + 4 + length])
            offset += 4 + length
    except (binascii.Error, struct.error, ValueError):
        return False
    if parts[0] == "ssh-rsa":
        return len(fields) == 2 and int.from_bytes(fields[1], "big").bit_length() >= 2048
    return len(fields) == 1 and len(fields[0]) == 32


def _rg_of(vm_id):
    """The resource group part of a VM id (works while the group itself is being deleted)."""
    return re.split(r"/providers/", vm_id, maxsplit=1, flags=re.IGNORECASE)[0]


def _disk_key(vm_id, name):
    return f"{_rg_of(vm_id).lower()}/providers/microsoft.compute/disks/{name.lower()}"


def _disk_id(vm_id, name):
    return f"{_rg_of(vm_id)}/providers/Microsoft.Compute/disks/{name}"


def _tier(storage_type):
    return "Premium" if storage_type.startswith("Premium") else "Standard"


@register
class Disk(ResourceType):
    type = DISK
    api_versions = DISK_API_VERSIONS
    duration = 10.0
    etag = None
    patch = "merge"
    async_patch = True
    retry_after = 10
    name_pattern = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]?$")
    name_message = ("The disk name '{name}' is invalid: up to 80 letters, digits, '_', '.' or '-', starting with "
                    "a letter, digit or '_'.")
    read_only_properties = ("provisioningState", "diskState", "timeCreated", "uniqueId", "diskSizeBytes")

    def validate(self, ctx, body, existing):
        body.pop("managedBy", None)  # read-only: only a VM attaches a disk
        p = body["properties"]
        sku = body.get("sku") or {}
        check_object(body.get("sku"), "sku")
        name = canonical_enum(sku.get("name") or "Standard_LRS", DISK_TYPES, "sku.name", "DiskStorageAccountTypes")
        body["sku"] = {"name": name, "tier": _tier(name)}
        creation = p.get("creationData")
        check_object(creation, "properties.creationData")
        if existing is None:
            option = (creation or {}).get("createOption")
            if option is None:
                raise invalid_parameter("Required parameter 'creationData.createOption' is missing (null).",
                                        "creationData.createOption")
            if str(option).lower() != "empty":
                raise invalid_parameter(f"Disk creation option {option} is not emulated (Empty only).",
                                        "creationData.createOption")
            creation["createOption"] = "Empty"
        else:
            p["creationData"] = existing.properties.get("creationData")
        size = p.get("diskSizeGB")
        check_int(size, "properties.diskSizeGB")
        if size is None and existing is None:
            raise invalid_parameter("Required parameter 'diskSizeGB' is missing (null).", "diskSizeGB")
        if size is not None and not 1 <= size <= 32767:
            raise invalid_parameter(f"The disk size {size} GB of disk '{ctx.name}' must be between 1 and 32767.",
                                    "diskSizeGB")
        if existing is not None and size is not None and size < existing.properties.get("diskSizeGB", 0):
            raise bad_request("ResizeDiskError", f"Disk '{ctx.name}' of {existing.properties['diskSizeGB']} GB "
                              f"cannot be resized to {size} GB: shrinking a disk is not supported.")

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        if existing is not None and existing.body.get("managedBy"):
            body["managedBy"] = existing.body["managedBy"]
        p.setdefault("diskSizeGB", old.get("diskSizeGB"))
        p["diskSizeBytes"] = p["diskSizeGB"] * 1024 ** 3
        p["uniqueId"] = old.get("uniqueId") or ctx.new_guid()
        p["timeCreated"] = old.get("timeCreated") or _now()
        p["diskState"] = "Attached" if body.get("managedBy") else "Unattached"
        return body

    def validate_delete(self, ctx, record):
        if record.body.get("managedBy"):
            raise conflict("OperationNotAllowed", f"Disk {record.name} is attached to VM {record.body['managedBy']}.")


@register
class VirtualMachine(ResourceType):
    type = VM
    api_versions = COMPUTE_API_VERSIONS
    duration = 120.0
    delete_duration = 60.0
    etag = None
    patch = "merge"
    async_patch = True
    retry_after = 10
    name_pattern = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]?$")
    name_message = ("The VM name '{name}' is invalid: 1 to 64 letters, digits, '_', '.' or '-', not starting "
                    "with '_' nor ending with '.' or '-'.")
    read_only_properties = ("provisioningState", "vmId", "timeCreated", "instanceView")

    # -- validation ------------------------------------------------------------------------
    def validate(self, ctx, body, existing):
        p = body["properties"]
        old = copy.deepcopy(existing.body) if existing is not None else None
        self._check_identity(body)
        zones = body.get("zones")
        check_list(zones, "zones")
        if zones and (len(zones) > 1 or str(zones[0]) not in ("1", "2", "3")):
            raise invalid_parameter(f"The zones {zones} of VM '{ctx.name}' are not valid: give one of 1, 2 or 3.",
                                    "zones")
        hardware = p.get("hardwareProfile") or {}
        check_object(p.get("hardwareProfile"), "properties.hardwareProfile")
        size = hardware.get("vmSize")
        if not size:
            raise invalid_parameter("Required parameter 'hardwareProfile.vmSize' is missing (null).",
                                    "hardwareProfile.vmSize")
        if not SIZE_RE.match(str(size)):
            raise invalid_parameter(f"The value {size} provided for the VM size is not valid.", "vmSize")
        check_object(p.get("storageProfile"), "properties.storageProfile")
        storage = p["storageProfile"] = p.get("storageProfile") or {}
        image = self._check_image(ctx, body, storage, old)
        self._check_os_disk(ctx, storage, old)
        self._check_data_disks(ctx, storage, old)
        self._check_os_profile(ctx, p, old)
        self._check_network(ctx, p)
        diagnostics = ((p.get("diagnosticsProfile") or {}).get("bootDiagnostics") or {})
        check_bool(diagnostics.get("enabled"), "properties.diagnosticsProfile.bootDiagnostics.enabled")
        if old is not None:
            for field, before, after in (("zones", old.get("zones") or [], body.get("zones") or []),
                                         ("plan", old.get("plan"), body.get("plan"))):
                if _lower(before) != _lower(after):
                    raise conflict_change(field)
        ctx.image = image

    @staticmethod
    def _check_identity(body):
        identity = body.get("identity")
        check_object(identity, "identity")
        if identity is None:
            return
        kind = canonical_enum(identity.get("type") or "None", IDENTITY_TYPES, "identity.type",
                              "ResourceIdentityType")
        if "UserAssigned" in kind and not identity.get("userAssignedIdentities"):
            raise invalid_parameter("The identity type UserAssigned needs userAssignedIdentities.",
                                    "identity.userAssignedIdentities")
        identity["type"] = kind

    @staticmethod
    def _check_image(ctx, body, storage, old):
        ref = storage.get("imageReference")
        check_object(ref, "properties.storageProfile.imageReference")
        if old is not None:
            before = (old["properties"].get("storageProfile") or {}).get("imageReference") or {}
            after = dict((k, v) for k, v in (ref or before).items() if k != "exactVersion")
            if _lower(dict((k, v) for k, v in before.items() if k != "exactVersion")) != _lower(after):
                raise conflict_change("imageReference")
            storage["imageReference"] = before
            return _find_image(before)
        if ref is None:
            raise invalid_parameter("Required parameter 'imageReference' is missing (null).", "imageReference")
        ref.pop("exactVersion", None)
        image = _find_image(ref)
        version = str(ref.get("version") or "")
        if image is None or not VERSION_RE.match(version):
            urn = ":".join(str(ref.get(k, "")) for k in ("publisher", "offer", "sku", "version"))
            raise ArmError(404, "PlatformImageNotFound",
                           f"The platform image '{urn}' is not available. Verify that all fields in the storage "
                           "profile are correct. For more details about storage profile information, please refer "
                           "to https://aka.ms/storageprofile", target="imageReference")
        plan = body.get("plan")
        check_object(plan, "plan")
        return dict(image, ref=ref)

    @staticmethod
    def _check_os_disk(ctx, storage, old):
        disk = storage.get("osDisk") or {}
        check_object(storage.get("osDisk"), "properties.storageProfile.osDisk")
        before = ((old or {}).get("properties", {}).get("storageProfile") or {}).get("osDisk") or {}
        option = disk.get("createOption") or before.get("createOption") or "FromImage"
        if str(option).lower() != "fromimage":
            raise invalid_parameter(f"OS disk createOption {option} is not emulated (FromImage only).",
                                    "osDisk.createOption")
        disk["createOption"] = "FromImage"
        size = disk.get("diskSizeGB")
        check_int(size, "properties.storageProfile.osDisk.diskSizeGB")
        if size is not None:
            if size < IMAGE_OS_DISK_GB:
                raise invalid_parameter(f"The specified disk size {size} GB is smaller than the size of the "
                                        f"corresponding disk in the VM image: {IMAGE_OS_DISK_GB} GB. This is not "
                                        "allowed. Please choose equal or greater size or do not specify a value.",
                                        "osDisk.diskSizeGB")
            if size > 4095:
                raise invalid_parameter(f"The OS disk size {size} GB is larger than the maximum of 4095 GB.",
                                        "osDisk.diskSizeGB")
            if before.get("diskSizeGB") and size < before["diskSizeGB"]:
                raise bad_request("ResizeDiskError", f"Disk '{before.get('name')}' of {before['diskSizeGB']} GB "
                                  f"cannot be resized to {size} GB: shrinking a disk is not supported.")
        if disk.get("name") and before.get("name") and disk["name"].lower() != before["name"].lower():
            raise conflict_change("osDisk.name")
        managed = disk.get("managedDisk") or {}
        if managed.get("storageAccountType") is not None:
            managed["storageAccountType"] = canonical_enum(managed["storageAccountType"], OS_DISK_TYPES,
                                                           "properties.storageProfile.osDisk.managedDisk."
                                                           "storageAccountType", "StorageAccountTypes")
        if disk.get("caching") is not None:
            disk["caching"] = canonical_enum(disk["caching"], CACHING, "properties.storageProfile.osDisk.caching",
                                             "CachingTypes")
        if disk.get("deleteOption") is not None:
            disk["deleteOption"] = canonical_enum(disk["deleteOption"], DELETE_OPTIONS,
                                                  "properties.storageProfile.osDisk.deleteOption",
                                                  "DiskDeleteOptionTypes")
        storage["osDisk"] = disk

    @staticmethod
    def _check_data_disks(ctx, storage, old):
        disks = storage.get("dataDisks")
        check_list(disks, "properties.storageProfile.dataDisks")
        before = dict((int(d["lun"]), d) for d in
                      ((old or {}).get("properties", {}).get("storageProfile") or {}).get("dataDisks") or [])
        luns, names = set(), set()
        for index, disk in enumerate(disks or []):
            path = f"properties.storageProfile.dataDisks[{index}]"
            check_object(disk, path)
            lun = disk.get("lun")
            check_int(lun, path + ".lun")
            if lun is None or not 0 <= lun <= 63:
                raise invalid_parameter(f"The LUN {lun} of data disk {index} must be between 0 and 63.", "lun")
            if lun in luns:
                raise invalid_parameter(f"A disk at LUN {lun} already exists.", "dataDisks")
            luns.add(lun)
            option = canonical_enum(disk.get("createOption") or "Empty", ["Empty", "Attach", "FromImage"],
                                    path + ".createOption", "DiskCreateOptionTypes")
            disk["createOption"] = option
            previous = before.get(lun)
            name = disk.get("name") or (previous or {}).get("name")
            if previous is not None and name and name.lower() != str(previous.get("name", "")).lower():
                raise invalid_parameter(f"A disk at LUN {lun} already exists ({previous.get('name')}); data disk "
                                        f"{name} cannot take its place.", "dataDisks")
            if name:
                if name.lower() in names:
                    raise invalid_parameter(f"Data disk name {name} is used twice.", "dataDisks")
                names.add(name.lower())
            managed = disk.setdefault("managedDisk", {})
            check_object(managed, path + ".managedDisk")
            if previous is None and option == "Attach":
                rec = ctx.get(managed.get("id"))
                if rec is None or rec.rtype.type != DISK:
                    raise ArmError(404, "NotFound", f"Disk {managed.get('id')} was not found.",
                                   target="dataDisks")
                if rec.body.get("managedBy"):
                    raise conflict("OperationNotAllowed", f"Disk {rec.name} is attached to VM "
                                   f"{rec.body['managedBy']}.")
            elif previous is None and option == "FromImage":
                raise invalid_parameter("Data disks from the image are not emulated.", "dataDisks")
            size = disk.get("diskSizeGB")
            check_int(size, path + ".diskSizeGB")
            if previous is None and option == "Empty" and size is None:
                raise invalid_parameter("Required parameter 'dataDisk.diskSizeGB' is missing (null).",
                                        "dataDisk.diskSizeGB")
            if size is not None and not 1 <= size <= 32767:
                raise invalid_parameter(f"The size {size} GB of data disk at LUN {lun} must be between 1 and 32767.",
                                        "dataDisk.diskSizeGB")
            if previous is not None and size is not None and size < (previous.get("diskSizeGB") or 0):
                raise bad_request("ResizeDiskError", f"Disk '{previous.get('name')}' of {previous['diskSizeGB']} GB "
                                  f"cannot be resized to {size} GB: shrinking a disk is not supported.")
            kind = managed.get("storageAccountType")
            if kind is not None:
                managed["storageAccountType"] = kind = canonical_enum(kind, DISK_TYPES, path + ".managedDisk."
                                                                      "storageAccountType", "StorageAccountTypes")
            caching = canonical_enum(disk.get("caching") or "None", CACHING, path + ".caching", "CachingTypes")
            disk["caching"] = caching
            if caching != "None" and ((size or 0) > 4095 or kind in ("PremiumV2_LRS", "UltraSSD_LRS")):
                raise invalid_parameter(f"Host caching {caching} is not supported for data disk at LUN {lun} "
                                        f"({size} GB, {kind}): use None for disks of 4 TiB or more and for "
                                        "Premium SSD v2 / Ultra disks.", "dataDisks.caching")
            if disk.get("deleteOption") is not None:
                disk["deleteOption"] = canonical_enum(disk["deleteOption"], DELETE_OPTIONS, path + ".deleteOption",
                                                      "DiskDeleteOptionTypes")

    @staticmethod
    def _check_os_profile(ctx, p, old):
        profile = p.get("osProfile")
        check_object(profile, "properties.osProfile")
        before = (old or {}).get("properties", {}).get("osProfile")
        if before is not None:
            if profile is None:
                p["osProfile"] = before
                return
            profile.pop("adminPassword", None)
            for field in ("computerName", "adminUsername"):
                if profile.get(field) is not None and str(profile[field]).lower() != str(before.get(field)).lower():
                    raise conflict_change("osProfile." + field)
            linux, old_linux = profile.get("linuxConfiguration") or {}, before.get("linuxConfiguration") or {}
            if linux.get("disablePasswordAuthentication") is not None and \
                    linux["disablePasswordAuthentication"] != old_linux.get("disablePasswordAuthentication"):
                raise conflict_change("linuxConfiguration.disablePasswordAuthentication")
            keys = sorted(" ".join(str(k.get("keyData", "")).split()[:2]) for k in
                          (linux.get("ssh") or {}).get("publicKeys") or [])
            old_keys = sorted(" ".join(str(k.get("keyData", "")).split()[:2]) for k in
                              (old_linux.get("ssh") or {}).get("publicKeys") or [])
            if (linux.get("ssh") or {}).get("publicKeys") is not None and keys != old_keys:
                raise conflict_change("linuxConfiguration.ssh.publicKeys")
            p["osProfile"] = dict(before, **dict((k, v) for k, v in profile.items() if k != "linuxConfiguration"))
            return
        if profile is None:
            raise invalid_parameter("Required parameter 'osProfile' is missing (null).", "osProfile")
        user = profile.get("adminUsername")
        if not user:
            raise invalid_parameter("Required parameter 'adminUsername' is missing (null).", "adminUsername")
        if str(user).lower() in RESERVED_USERNAMES or len(str(user)) > 64 or \
                not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", str(user)):
            raise invalid_parameter("The Admin Username specified is not allowed.", "adminUsername")
        profile.setdefault("computerName", ctx.name)
        linux = profile.setdefault("linuxConfiguration", {})
        check_object(linux, "properties.osProfile.linuxConfiguration")
        check_bool(linux.get("disablePasswordAuthentication"), "linuxConfiguration.disablePasswordAuthentication")
        keys = (linux.get("ssh") or {}).get("publicKeys") or []
        check_list(keys, "linuxConfiguration.ssh.publicKeys")
        if not linux.get("disablePasswordAuthentication"):
            if not profile.get("adminPassword"):
                raise invalid_parameter("Required parameter 'adminPassword' is missing (null).", "adminPassword")
        elif not keys:
            raise invalid_parameter("Authentication using either SSH or by user name and password must be enabled "
                                    "in Linux profile.", "linuxConfiguration")
        for key in keys:
            if key.get("path") != f"/home/{user}/.ssh/authorized_keys":
                raise invalid_parameter("The value of parameter linuxConfiguration.ssh.publicKeys.path is invalid.",
                                        "linuxConfiguration.ssh.publicKeys.path")
            if not _ssh_key_ok(key.get("keyData")):
                raise invalid_parameter("The value of parameter linuxConfiguration.ssh.publicKeys.keyData is "
                                        "invalid.", "linuxConfiguration.ssh.publicKeys.keyData")

    @staticmethod
    def _check_network(ctx, p):
        network = p.get("networkProfile") or {}
        check_object(p.get("networkProfile"), "properties.networkProfile")
        nics = network.get("networkInterfaces")
        check_list(nics, "properties.networkProfile.networkInterfaces")
        if not nics:
            raise invalid_parameter("Required parameter 'networkProfile' is missing (null).", "networkProfile")
        primaries = [n for n in nics if (n.get("properties") or {}).get("primary")]
        if len(nics) > 1 and len(primaries) != 1:
            raise invalid_parameter("Virtual machine must have one network interface set as primary.",
                                    "networkProfile.networkInterfaces")
        for index, ref in enumerate(nics):
            check_object(ref, f"properties.networkProfile.networkInterfaces[{index}]")
            rec = ctx.get(ref_id(ref))
            if rec is None or rec.rtype.type != NIC or rec.deleting:
                raise ArmError(400, "InvalidResourceReference",
                               f"Resource {ref_id(ref)} referenced by resource {ctx.id} was not found. Please make "
                               "sure that the referenced resource exists, and that both resources are in the same "
                               "region.", details=[])
            if rec.location != ctx.location:
                raise ArmError(400, "NicNotInSameLocation",
                               f"Network interface {rec.id} is in {rec.location}, VM {ctx.id} in {ctx.location}; "
                               "they must be in the same region.", details=[])
            users = [r for r, _ref in ctx.referrers(rec) if r.rtype.type == VM and r.key != ctx.key]
            if users:
                raise ArmError(400, "NicInUse",
                               f"Network Interface {rec.id} is used by existing resource {users[0].id}. In order to "
                               "delete the network interface, it must be dissociated from the resource. To learn "
                               "more, see aka.ms/deletenic.", details=[])
            ref["id"] = rec.id
            props = ref.setdefault("properties", {})
            props["primary"] = bool(props.get("primary") or len(nics) == 1)
            props["deleteOption"] = canonical_enum(props.get("deleteOption") or "Detach", DELETE_OPTIONS,
                                                   f"properties.networkProfile.networkInterfaces[{index}]."
                                                   "properties.deleteOption", "DeleteOptions")

    # -- stored shape ------------------------------------------------------------------------
    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.body if existing is not None else {}
        p["vmId"] = (old.get("properties") or {}).get("vmId") or ctx.new_guid()
        p["timeCreated"] = (old.get("properties") or {}).get("timeCreated") or _now()
        identity = body.get("identity")
        if identity is None or identity.get("type") == "None":
            body.pop("identity", None)
        elif "SystemAssigned" in identity["type"]:
            before = old.get("identity") or {}
            identity["principalId"] = before.get("principalId") if "SystemAssigned" in before.get("type", "") \
                else ctx.new_guid()
            identity["tenantId"] = ctx.app.tenant_id
        profile = p["osProfile"]
        profile.pop("adminPassword", None)
        profile.setdefault("allowExtensionOperations", True)
        profile.setdefault("requireGuestProvisionSignal", True)
        profile.setdefault("secrets", [])
        profile["linuxConfiguration"].setdefault("provisionVMAgent", True)
        storage = p["storageProfile"]
        os_disk = storage["osDisk"]
        old_os = ((old.get("properties") or {}).get("storageProfile") or {}).get("osDisk") or {}
        os_disk["osType"] = "Linux"
        os_disk.setdefault("name", old_os.get("name") or f"{ctx.name}_OsDisk_1_{ctx.new_guid().replace('-', '')}")
        os_disk.setdefault("caching", old_os.get("caching") or "ReadWrite")
        os_disk.setdefault("deleteOption", old_os.get("deleteOption") or "Detach")
        os_disk.setdefault("diskSizeGB", old_os.get("diskSizeGB") or IMAGE_OS_DISK_GB)
        managed = os_disk.setdefault("managedDisk", {})
        managed.setdefault("storageAccountType", (old_os.get("managedDisk") or {}).get("storageAccountType")
                           or "Premium_LRS")
        managed["id"] = _disk_id(ctx.id, os_disk["name"])
        old_data = dict((int(d["lun"]), d) for d in
                        ((old.get("properties") or {}).get("storageProfile") or {}).get("dataDisks") or [])
        disks = []
        for disk in sorted(storage.get("dataDisks") or [], key=lambda d: d["lun"]):
            previous = old_data.get(disk["lun"]) or {}
            merged = dict(previous, **disk)
            merged["managedDisk"] = dict(previous.get("managedDisk") or {}, **(disk.get("managedDisk") or {}))
            if merged["createOption"] == "Attach" and not previous:
                attached = ctx.get(merged["managedDisk"]["id"])
                merged["name"] = attached.name
                merged["diskSizeGB"] = attached.properties.get("diskSizeGB")
                merged["managedDisk"]["storageAccountType"] = attached.body["sku"]["name"]
            merged.setdefault("name", f"{ctx.name}_disk{disk['lun'] + 2}_{ctx.new_guid().replace('-', '')}")
            merged["managedDisk"].setdefault("storageAccountType", "Standard_LRS")
            merged["managedDisk"]["id"] = _disk_id(ctx.id, merged["name"])
            merged.setdefault("deleteOption", "Detach")
            merged.setdefault("toBeDetached", False)
            merged.setdefault("writeAcceleratorEnabled", False)
            disks.append(merged)
        storage["dataDisks"] = disks
        return body

    def on_put(self, ctx, record, old_body):
        image = getattr(ctx, "image", None)
        plan = record.body.get("plan") or {}
        if old_body is None and image and image["plan"]:
            wanted = {"name": image["ref"]["sku"], "product": image["offer"], "publisher": image["publisher"]}
            if _lower(dict((k, plan.get(k)) for k in wanted)) != _lower(wanted) and record.op_id:
                op = ctx.store.ops.get(record.op_id)
                if op is not None and op.error is None:
                    op.error = {"code": "VMMarketplaceInvalidInput",
                                "message": "Creating a virtual machine from Marketplace image or a custom image "
                                           "sourced from a Marketplace image requires Plan information in the "
                                           f"request. VM: '{record.id}'."}
        storage = record.properties["storageProfile"]
        wanted_disks = [(storage["osDisk"], True)] + [(d, False) for d in storage.get("dataDisks") or []]
        for disk, is_os in wanted_disks:
            self._upsert_disk(ctx, record, disk, is_os)
        old_storage = ((old_body or {}).get("properties") or {}).get("storageProfile") or {}
        kept = set(d["name"].lower() for d, _is_os in wanted_disks)
        for disk in old_storage.get("dataDisks") or []:
            if disk["name"].lower() not in kept:
                rec = ctx.store.get(_disk_key(record.id, disk["name"]))
                if rec is not None:
                    rec.body.pop("managedBy", None)
                    rec.properties["diskState"] = "Unattached"

    @staticmethod
    def _upsert_disk(ctx, vm, disk, is_os):
        key = _disk_key(vm.id, disk["name"])
        rec = ctx.store.get(key)
        kind = disk["managedDisk"]["storageAccountType"]
        if rec is None:
            image = ((vm.properties.get("storageProfile") or {}).get("imageReference") or {})
            creation = {"createOption": "Empty"}
            if is_os:
                creation = {"createOption": "FromImage", "imageReference": {
                    "id": f"/Subscriptions/{ctx.sub}/Providers/Microsoft.Compute/Locations/{vm.location}/Publishers/"
                          f"{image.get('publisher')}/ArtifactTypes/VMImage/Offers/{image.get('offer')}/Skus/"
                          f"{image.get('sku')}/Versions/{image.get('version')}"}}
            body = {"id": _disk_id(vm.id, disk["name"]), "name": disk["name"], "type": DISK, "location": vm.location,
                    "properties": {"creationData": creation, "uniqueId": ctx.new_guid(), "timeCreated": _now(),
                                   "provisioningState": "Succeeded"}}
            if is_os:
                body["properties"].update(osType="Linux", hyperVGeneration="V2")
            if vm.body.get("zones"):
                body["zones"] = list(vm.body["zones"])
            rg_key = _rg_of(vm.id).lower()
            rec = Record(key, body["id"], get_type(DISK), disk["name"], body, rg_key, rg_key, ctx.store.next_seq())
            ctx.store.put(rec)
        rec.body["managedBy"] = vm.id
        rec.body["sku"] = {"name": kind, "tier": _tier(kind)}
        rec.properties["diskSizeGB"] = disk["diskSizeGB"]
        rec.properties["diskSizeBytes"] = disk["diskSizeGB"] * 1024 ** 3
        rec.properties["diskState"] = "Attached"

    def on_delete(self, ctx, record):
        storage = record.properties.get("storageProfile") or {}
        for disk in [storage.get("osDisk") or {}] + list(storage.get("dataDisks") or []):
            rec = ctx.store.get(_disk_key(record.id, disk["name"])) if disk.get("name") else None
            if rec is None:
                continue
            if disk.get("deleteOption") == "Delete":
                ctx.store.remove(rec.key)
            else:
                rec.body.pop("managedBy", None)
                rec.properties["diskState"] = "Unattached"
        for ref in (record.properties.get("networkProfile") or {}).get("networkInterfaces") or []:
            if (ref.get("properties") or {}).get("deleteOption") == "Delete":
                rec = ctx.get(ref_id(ref))
                if rec is not None:
                    ctx.store.remove(rec.key)


def _lower(value):
    if isinstance(value, dict):
        return dict((k, _lower(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value.lower() if isinstance(value, str) else value


def conflict_change(field):
    return ArmError(400, "PropertyChangeNotAllowed", f"Changing property '{field}' is not allowed.", target=field)
