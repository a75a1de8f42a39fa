"""Role references and deterministic role assignment names."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import rbac
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

SUB = "22222222-2222-4222-8222-222222222222"
SCOPE = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr01" % SUB
PRINCIPAL = "5b0f4bd2-6a43-4a2e-8d15-5a0c3c3b8f11"


@pytest.mark.parametrize("role,expected", [
    ("AcrPull", ("guid", "7f951dda-4ed3-4680-a7ca-43fe172d538d")),
    ("network contributor", ("guid", "4d97b98b-1d4f-4787-a291-c67834d212e7")),
    ("Managed Identity Operator", ("guid", "f1a07417-d97a-45cb-824c-7a7467783830")),
    ("Key Vault Secrets User", ("guid", "4633458b-17de-408a-b874-0445c86b69e6")),
    ("7F951DDA-4ED3-4680-A7CA-43FE172D538D", ("guid", "7f951dda-4ed3-4680-a7ca-43fe172d538d")),
    ("/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7" % SUB,
     ("guid", "acdd72a7-3385-48ef-bd42-f606fba81ae7")),
    ("/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
     ("guid", "acdd72a7-3385-48ef-bd42-f606fba81ae7")),
    ("Registry Cache Reader", ("name", "Registry Cache Reader")),
])
def test_role_references(role, expected):
    assert rbac.role_reference("role", role) == expected


@pytest.mark.parametrize("role", ["", "/subscriptions/x/providers/Microsoft.Authorization/roleAssignments/y"])
def test_bad_role_references(role):
    with pytest.raises(InputError) as err:
        rbac.role_reference("role", role)
    assert err.value.field == "role"


def test_assignment_names_are_deterministic_and_distinct():
    name = rbac.assignment_name(SCOPE, "7f951dda-4ed3-4680-a7ca-43fe172d538d", PRINCIPAL)
    assert rbac.GUID_RE.match(name)
    assert name == rbac.assignment_name(SCOPE.upper() + "/", "7F951DDA-4ED3-4680-A7CA-43FE172D538D", PRINCIPAL.upper())
    assert name != rbac.assignment_name(SCOPE, "8311e382-0749-4cb8-b61a-304f252e45ec", PRINCIPAL)
    assert name != rbac.assignment_name(SCOPE + "x", "7f951dda-4ed3-4680-a7ca-43fe172d538d", PRINCIPAL)


@pytest.mark.parametrize("scope,ok", [
    (SCOPE, True), ("/subscriptions/%s" % SUB, True), ("/subscriptions/%s/resourceGroups/rg" % SUB, True),
    ("/resourceGroups/rg", False), ("/subscriptions/not-a-guid/resourceGroups/rg", False), ("", False),
])
def test_scopes(scope, ok):
    if ok:
        assert rbac.check_scope("scope", scope) == scope
    else:
        with pytest.raises(InputError):
            rbac.check_scope("scope", scope)


def test_builtin_table_and_helpers():
    assert all(rbac.GUID_RE.match(guid) for guid in rbac.BUILTIN_ROLES.values())
    assert len(set(rbac.BUILTIN_ROLES.values())) == len(rbac.BUILTIN_ROLES)
    assert rbac.builtin_name("7F951DDA-4ED3-4680-A7CA-43FE172D538D") == "AcrPull"
    rid = rbac.role_definition_id(SUB, "7f951dda-4ed3-4680-a7ca-43fe172d538d")
    assert rbac.role_guid_of(rid) == "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    assert rbac.same_scope(SCOPE + "/", SCOPE.lower())
