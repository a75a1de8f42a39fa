# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of virtual machine input that need no request: SSH keys, user names, sizes, disks.

Each ``*_problem(value)`` returns None when the value is fine, else a sentence that
says what is wrong without repeating the value when it could be a secret (a private
key or a password pasted in the wrong place must not end up in a log). The
``virtual_machine`` module raises them as ``InputError(option, problem)``; the
``jumpbox_vm`` role reports them against its variable names.

Facts used (Microsoft Learn, "Supported SSH key formats", and the compute REST
reference for ``osProfile.adminUsername``):

* Linux VMs take SSH-2 RSA keys of at least 2048 bits and Ed25519 keys; ECDSA and
  security-key types are refused by Azure.
* ``adminUsername``: 1 to 64 characters for Linux, not one of a fixed list of
  reserved names (``admin``, ``root``, ``administrator`` ...).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

SUPPORTED_KEY_TYPES = ("ssh-rsa", "ssh-ed25519")
MIN_RSA_BITS = 2048

# osProfile.adminUsername: values Azure refuses (compute REST reference, "Disallowed values").
RESERVED_USERNAMES = frozenset("""
administrator admin user user1 test user2 test1 user3 admin1 1 123 a actuser adm admin2 aspnet backup
console david guest john owner root server sql support support_388945a0 sys test2 test3 user4 user5
""".split())
USERNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
# Linux host names: letters, digits and hyphens, not starting or ending with a hyphen.
COMPUTER_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")
VM_SIZE_RE = re.compile(r"^(Standard|Basic)_[A-Za-z0-9_]+$", re.IGNORECASE)
# N-series: NC (compute), ND (deep learning), NG (graphics/gaming), NV (visualisation).
GPU_SIZE_RE = re.compile(r"^Standard_N[CDGV][A-Za-z0-9_]*$", re.IGNORECASE)

OS_DISK_TYPES = ("Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "StandardSSD_ZRS", "Premium_ZRS")
DATA_DISK_TYPES = OS_DISK_TYPES + ("PremiumV2_LRS",)
CACHING = ("None", "ReadOnly", "ReadWrite")
OS_DISK_MAX_GB = 4095
DATA_DISK_MAX_GB = 32767
# Host caching is not available for disks of 4 TiB and more, nor for Premium SSD v2.
CACHING_MAX_GB = 4095


def _read_string(blob, offset):
    if offset + 4 > len(blob):
        raise ValueError("truncated")
    (length,) = struct.unpack(">I", blob[offset:offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated")
    return blob[offset + 4:end], end


def parse_ssh_public_key(value):
    """``(key_type, key_body_base64, detail)`` of an OpenSSH one-line public key.

    ``detail`` is the RSA modulus size in bits, or the Ed25519 key length in bytes.
    Raises ValueError with a message that never contains the value.
    """
    text = str(value or "").strip()
    parts = text.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key line")
    key_type, body = parts[0], parts[1]
    try:
        blob = base64.b64decode(body.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("the key body is not valid base64") from None
    try:
        inner_type, offset = _read_string(blob, 0)
        inner = inner_type.decode("ascii", "replace")
        if inner != key_type:
            raise ValueError("the key body says %s, the line says %s" % (inner, key_type))
        if key_type == "ssh-rsa":
            _exponent, offset = _read_string(blob, offset)
            modulus, offset = _read_string(blob, offset)
            detail = int.from_bytes(modulus, "big").bit_length()
        elif key_type == "ssh-ed25519":
            point, offset = _read_string(blob, offset)
            detail = len(point)
            if detail != 32:
                raise ValueError("an Ed25519 key is 32 bytes, this one is %d" % detail)
        else:
            detail = None
    except struct.error:
        raise ValueError("the key body is truncated") from None
    return key_type, body, detail


def ssh_public_key_problem(value):
    """None for a public key Azure accepts on a Linux VM, else what is wrong (without the value)."""
    text = str(value or "").strip()
    if not text:
        return "is required: the public half of an SSH key (ssh-ed25519, or ssh-rsa of 2048 bits or more)"
    upper = text.upper()
    if "PRIVATE KEY" in upper or text.startswith("PuTTY-User-Key-File"):
        return ("is a private key: give the public key (the .pub file) instead; a private key must never leave "
                "your machine")
    if "BEGIN SSH2 PUBLIC KEY" in upper:
        return "is in SSH2 (RFC 4716) form: give the one-line OpenSSH form (ssh-keygen -i -f key.pub)"
    if "\n" in text:
        return "must be one OpenSSH public key line ('ssh-ed25519 AAAA... comment')"
    key_type = text.split()[0]
    if key_type.startswith("ecdsa-") or key_type.startswith("sk-"):
        return "is an %s key: Azure accepts ssh-rsa (2048 bits or more) and ssh-ed25519 keys only" % key_type
    if key_type not in SUPPORTED_KEY_TYPES:
        return ("is not an SSH public key (expected 'ssh-ed25519 AAAA...' or 'ssh-rsa AAAA...'); passwords are not "
                "accepted: password authentication stays off")
    try:
        _key_type, _body, detail = parse_ssh_public_key(text)
    except ValueError as err:
        return "is not a valid %s public key: %s" % (key_type, err)
    if key_type == "ssh-rsa" and detail < MIN_RSA_BITS:
        return "is a %d-bit RSA key: Azure needs %d bits or more (or use ssh-ed25519)" % (detail, MIN_RSA_BITS)
    return None


def normalize_ssh_key(value):
    """``type body`` of a public key line: the comment and spacing do not matter to sshd."""
    parts = str(value or "").split()
    return " ".join(parts[:2])


def admin_username_problem(value):
    name = str(value or "")
    if not name:
        return "is required"
    if name.lower() in RESERVED_USERNAMES:
        return "%r is reserved by Azure (admin, root, administrator, user, test ... are refused)" % name
    if not USERNAME_RE.match(name):
        return ("%r is not a valid Linux user name: 1 to 64 letters, digits, '_' or '-', not starting with a digit "
                "or '-'" % name)
    return None


def computer_name_problem(value):
    if not COMPUTER_NAME_RE.match(str(value or "")):
        return ("%r is not a valid Linux host name: 1 to 64 letters, digits or '-', not starting or ending with "
                "'-'" % value)
    return None


def vm_size_problem(value):
    if not VM_SIZE_RE.match(str(value or "")):
        return "%r is not an Azure VM size name (for example Standard_NC24ads_A100_v4)" % value
    return None


def gpu_size_problem(value):
    problem = vm_size_problem(value)
    if problem:
        return problem
    if not GPU_SIZE_RE.match(str(value)):
        return ("%s is not a GPU size: use an N-series size (NC, ND, NG or NV), for example Standard_NC24ads_A100_v4 "
                "like the inference pool" % value)
    return None


def disk_problem(size_gb, caching=None, storage_type=None, os_disk=False):
    """What is wrong with a disk size / caching / type combination, or None."""
    limit = OS_DISK_MAX_GB if os_disk else DATA_DISK_MAX_GB
    if size_gb is not None:
        if not isinstance(size_gb, int) or isinstance(size_gb, bool) or size_gb < 1 or size_gb > limit:
            return "size must be 1 to %d GiB, got %r" % (limit, size_gb)
    if storage_type is not None and storage_type not in (OS_DISK_TYPES if os_disk else DATA_DISK_TYPES):
        return "%r is not a managed disk type for %s disk" % (storage_type, "an OS" if os_disk else "a data")
    if caching not in (None, "None"):
        if size_gb is not None and size_gb > CACHING_MAX_GB:
            return "host caching %s is not available for disks of 4 TiB or more: use caching None" % caching
        if storage_type == "PremiumV2_LRS":
            return "host caching %s is not available for Premium SSD v2 disks: use caching None" % caching
    return None
