"""Table-driven tests of the comparison engine."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import (
    Field,
    FieldTable,
    merge,
    project,
    prune_none,
)

TABLE = FieldTable(
    {
        "location": Field("ci", updatable=False),
        "properties.addressSpace.addressPrefixes": Field("cidr_set"),
        "properties.nsg.id": Field("id"),
        "properties.rules": Field("keyed", key="name"),
        "properties.rules[].properties.ports": Field("ci_set"),
        "properties.delegations": Field("ci_set"),
        "tags": Field("dict"),
    }
)

CASES = [
    # (name, desired, actual, differences)
    ("same location other case", {"location": "WestEurope"}, {"location": "westeurope"}, []),
    ("server fields ignored", {"location": "westeurope"},
     {"location": "westeurope", "etag": "x", "properties": {"provisioningState": "Succeeded"}}, []),
    ("cidr set order", {"properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16", "10.0.0.0/16"]}}},
     {"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16", "10.1.0.0/16"]}}}, []),
    ("cidr set change", {"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}},
     {"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/15"]}}},
     ["properties.addressSpace.addressPrefixes"]),
    ("id case and slash", {"properties": {"nsg": {"id": "/subscriptions/A/resourceGroups/RG/x/"}}},
     {"properties": {"nsg": {"id": "/subscriptions/a/resourcegroups/rg/x"}}}, []),
    ("missing nested field", {"properties": {"nsg": {"id": "/x"}}}, {"properties": {}}, ["properties.nsg.id"]),
    ("bool exact", {"properties": {"defaultOutboundAccess": False}}, {"properties": {"defaultOutboundAccess": True}},
     ["properties.defaultOutboundAccess"]),
    ("number given as string", {"properties": {"count": "3"}}, {"properties": {"count": 3}}, []),
    ("keyed rules subset", {"properties": {"rules": [{"name": "A", "properties": {"ports": ["443", "80"]}}]}},
     {"properties": {"rules": [{"name": "a", "id": "r", "properties": {"ports": ["80", "443"], "etag": "1"}}]}}, []),
    ("keyed rule changed", {"properties": {"rules": [{"name": "a", "properties": {"ports": ["443"]}}]}},
     {"properties": {"rules": [{"name": "a", "properties": {"ports": ["80"]}}]}}, ["properties.rules"]),
    ("keyed extra rule purged", {"properties": {"rules": [{"name": "a", "properties": {}}]}},
     {"properties": {"rules": [{"name": "a", "properties": {}}, {"name": "b", "properties": {}}]}},
     ["properties.rules"]),
    ("ci set", {"properties": {"delegations": ["Microsoft.ContainerService/managedClusters"]}},
     {"properties": {"delegations": ["microsoft.containerservice/managedclusters"]}}, []),
    ("tags exact", {"tags": {"a": "1"}}, {"tags": {"a": "1", "b": "2"}}, ["tags"]),
    ("ordered list", {"properties": {"dns": ["10.0.0.4", "10.0.0.5"]}}, {"properties": {"dns": ["10.0.0.5", "10.0.0.4"]}},
     ["properties.dns"]),
]


@pytest.mark.parametrize("name,desired,actual,expected", CASES, ids=[c[0] for c in CASES])
def test_compare(name, desired, actual, expected):
    result = TABLE.compare(desired, actual)
    assert result.differences == expected
    assert result.changed == bool(expected)


def test_keyed_without_purge_ignores_extra():
    table = FieldTable({"rules": Field("keyed", purge=False)})
    assert not table.compare({"rules": [{"name": "a"}]}, {"rules": [{"name": "a"}, {"name": "b"}]}).changed


def test_absent_resource_is_a_change_and_after_is_desired():
    result = TABLE.compare({"location": "westeurope"}, None)
    assert result.changed and not result.exists
    assert result.diff == {"before": {}, "after": {"location": "westeurope"}}


def test_immutable_field_reported():
    result = TABLE.compare({"location": "northeurope"}, {"location": "westeurope"})
    assert result.immutable == ["location"]


def test_diff_shows_only_managed_fields():
    actual = {"location": "westeurope", "properties": {"x": 1, "nsg": {"id": "/old"}, "provisioningState": "S"}}
    result = TABLE.compare({"properties": {"nsg": {"id": "/new"}}}, actual)
    assert result.diff == {"before": {"properties": {"nsg": {"id": "/old"}}},
                           "after": {"properties": {"nsg": {"id": "/new"}}}}


def test_helpers():
    assert prune_none({"a": None, "b": {"c": None}, "d": [1], "e": False}) == {"d": [1], "e": False}
    assert merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": 3}, "l": [2]}) == {"a": {"b": 3, "c": 2}, "l": [2]}
    assert project({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": None}}) == {"a": {"b": 1}}


def test_unknown_kind_rejected():
    with pytest.raises(ValueError):
        Field("fuzzy")


def test_diff_of_a_whole_mapping_shows_removed_keys():
    result = TABLE.compare({"tags": {"owner": "p"}}, {"tags": {"managed-by": "x"}})
    assert result.diff == {"before": {"tags": {"managed-by": "x"}}, "after": {"tags": {"owner": "p"}}}


def test_diff_of_keyed_list_hides_server_fields_of_named_elements():
    actual = {"properties": {"rules": [{"name": "a", "id": "1", "properties": {"ports": ["80"], "etag": "e"}},
                                       {"name": "gone", "properties": {"ports": ["22"]}}]}}
    result = TABLE.compare({"properties": {"rules": [{"name": "a", "properties": {"ports": ["443"]}}]}}, actual)
    assert result.diff["before"] == {"properties": {"rules": [{"name": "a", "properties": {"ports": ["80"]}},
                                                              {"name": "gone", "properties": {"ports": ["22"]}}]}}
    assert result.diff["after"] == {"properties": {"rules": [{"name": "a", "properties": {"ports": ["443"]}}]}}
