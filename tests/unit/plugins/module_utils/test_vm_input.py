"""SSH keys, user names, sizes and disks, checked without a request and without echoing secrets."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import vm_input

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK5YrIV66wcDfuC2ssrQIkuOPJu8d4URc86wAxXcn2XP ed@laptop"
RSA_3072 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCo7AugJikAr1alOVJEsuR/ojLPR9/O6fBUrf6ofKh67DZRuefw3lJHlZrsB/RbBdDrgbBQWeh"
    "gsWatr7JlmdB4hhUVc0d+v5jOSZ3iCfifNlBvBFWeIyhVlRGKNxHY6Fi162A/x5UH23/gPyDx6ewhKKqhOXMr3aZOdRM6QA1JlY4wJNp1b/oLPZC0"
    "d5j0zBZ457EiEsiM76b4WB/S4LaYD10dgbotrHbXaShD4luOBHkcnngTg/+cizrobbC877Phdq1PfwdaIY9I/NwdZXJssKxQt9kp9ZrxwCwWS4aD0oT"
    "+4FC5sovQf0ISca8+2EVZts0jJlJnb3J7FS9duFrVYJ31c/DRKrdmOBBacJF8IfvBL5KVV7abo+JFJ2ZHvSlIakstixG/jcRodJvLlniENlsJ5Q9X"
    "HaIcm7LaBc+X3FplUjFP1jfzMf5CCTrYUqV8CzuS08uuHSid4VYDpNtWv33Cm/9lJCnJGEjJSau53XSAK3fliW9AB180LfQ28nE= ok")
RSA_1024 = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCv1vfq59gsG+fcOIbGVWg4qhSxTdQonoKvM7eExjL5CE1ASi5aLlpzK4Ue+Cj00U1x9"
            "qbcsy5UDDfrxjlyy85bPgXj7nUqxTFmLD1xSmwAuxkDT6GKyomiyz1V6OSphz0f3OmQE+XIUQkD0k/ED8EyAxp3DsyH2wKHSztfP+1mnQ"
            "== short")
ECDSA = ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJqtBAJklIFHjys0Jyf6VqTx/kmr6zLdVtofp"
         "Cmbu+WHX0nCPd5aWGB8xDegtxOc5mJRdJvirUyRGhPGYIkJJXQ= e")
PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n-----END OPENSSH PRIVATE KEY-----\n"


def test_accepted_keys():
    assert vm_input.ssh_public_key_problem(ED25519) is None
    assert vm_input.ssh_public_key_problem(RSA_3072) is None
    assert vm_input.ssh_public_key_problem("  " + ED25519.split(" ", 2)[0] + " " + ED25519.split()[1] + "\n") is None
    assert vm_input.parse_ssh_public_key(RSA_3072)[2] == 3072
    assert vm_input.normalize_ssh_key(ED25519 + "  ") == " ".join(ED25519.split()[:2])


@pytest.mark.parametrize("value,words", [
    ("", "is required"),
    (None, "is required"),
    (PRIVATE, "is a private key"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "is a private key"),
    ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none", "is a private key"),
    ("---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----", "SSH2 (RFC 4716)"),
    ("correct horse battery staple", "not an SSH public key"),
    ("Sup3rS3cret!", "not an SSH public key"),
    (ECDSA, "ecdsa-sha2-nistp256 key: Azure accepts ssh-rsa"),
    (RSA_1024, "1024-bit RSA key"),
    ("ssh-ed25519 not-base64!!", "not valid base64"),
    ("ssh-rsa " + ED25519.split()[1], "the key body says ssh-ed25519"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK5Y", "truncated"),
])
def test_refused_keys_are_explained_without_the_value(value, words):
    problem = vm_input.ssh_public_key_problem(value)
    assert problem and words in problem, problem
    for secret in ("b3BlbnNzaC1", "MIIEow", "horse", "Sup3rS3cret", "AAAAIK5Y"):
        assert secret not in problem


@pytest.mark.parametrize("name,ok", [("azureuser", True), ("llm_ops", True), ("a" * 64, True), ("root", False),
                                     ("Admin", False), ("1user", False), ("-x", False), ("a" * 65, False),
                                     ("", False), ("user name", False)])
def test_admin_username(name, ok):
    assert (vm_input.admin_username_problem(name) is None) is ok


@pytest.mark.parametrize("size,ok", [
    ("Standard_NC24ads_A100_v4", True), ("Standard_ND96isr_H100_v5", True), ("Standard_NV36ads_A10_v5", True),
    ("Standard_NCC40ads_H100_v5", True), ("standard_nc6s_v3", True), ("Standard_NG32ads_V620_v1", True),
    ("Standard_D8s_v5", False), ("Standard_E64s_v5", False), ("Standard_M128s", False), ("NC24ads_A100_v4", False),
])
def test_gpu_sizes(size, ok):
    assert (vm_input.gpu_size_problem(size) is None) is ok


def test_disk_problems():
    assert vm_input.disk_problem(1024, "ReadOnly", "Premium_LRS") is None
    assert vm_input.disk_problem(8192, "None", "Premium_LRS") is None
    assert "4 TiB" in vm_input.disk_problem(8192, "ReadOnly", "Premium_LRS")
    assert "Premium SSD v2" in vm_input.disk_problem(100, "ReadOnly", "PremiumV2_LRS")
    assert "1 to 4095" in vm_input.disk_problem(5000, os_disk=True)
    problem = vm_input.disk_problem(64, storage_type="PremiumV2_LRS", os_disk=True)
    assert "not a managed disk type for an OS disk" in problem
    assert "got 0" in vm_input.disk_problem(0)


def test_computer_name():
    assert vm_input.computer_name_problem("vm-jumpbox") is None
    assert vm_input.computer_name_problem("vm_jumpbox")
    assert vm_input.computer_name_problem("-vm")
