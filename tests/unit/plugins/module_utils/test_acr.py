"""Cache rule, image reference and import record rules of module_utils/acr.py."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import acr
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

AKS = acr.AKS_CACHE_RULE


@pytest.mark.parametrize("one,other,overlap", [
    ("docker.io/*", "docker.io/library/*", True),
    ("docker.io/library/*", "docker.io/*", True),
    ("docker.io/*", "docker.io/*", True),
    ("*", "anything/*", True),
    ("docker.io/*", "dockerio/*", False),
    ("docker.io/*", "docker.io-mirror/*", False),
    ("aks-managed-repository/*", "aks-managed-repository/nginx", False),  # static under wildcard: allowed
    ("nginx", "nginx", True),
    ("nginx", "nginx/sub", False),
])
def test_targets_overlap(one, other, overlap):
    assert acr.targets_overlap(one, other) is overlap
    assert acr.targets_overlap(other, one) is overlap


@pytest.mark.parametrize("name,source,target,field,words", [
    ("abcd", "docker.io/*", "hub/*", "name", "5-50"),
    ("rule_one", "docker.io/*", "hub/*", "name", "letters, digits and '-'"),
    ("dockerhub", "example.com/x/*", "x/*", "source", "not an upstream the artifact cache serves"),
    ("dockerhub", "docker.io", "x", "source", "not a source repository"),
    ("dockerhub", "docker.io/a/*/b", "a/b", "source", "only allowed as the last path element"),
    ("dockerhub", "docker.io/Library/nginx", "nginx", "source", "not a repository path"),
    ("dockerhub", "docker.io/*", "hub", "target", "both end in '/*' or neither"),
    ("aks-managed-mcr", "mcr.microsoft.com/*", "*", "target", "must map mcr.microsoft.com/* to aks-managed-repository/*"),
    ("aks-managed-mcr", "mcr.microsoft.com/oss/*", "aks-managed-repository/*", "source", "exactly"),
])
def test_bad_cache_rules_name_the_field(name, source, target, field, words):
    with pytest.raises(InputError) as err:
        acr.check_cache_rule("", name, source, target)
    assert err.value.field == field and words in err.value.problem


def test_good_cache_rules():
    assert acr.check_cache_rule("", AKS["name"], AKS["source"], AKS["target"]) == (
        "mcr.microsoft.com", True, "aks-managed-repository", True)
    assert acr.check_cache_rule("", "hub-nginx", "index.docker.io/library/nginx", "nginx")[0] == "docker.io"
    assert acr.check_cache_rule("", "k8s-io", "registry.k8s.io/*", "registry.k8s.io/*")[1] is True


def test_cache_rule_problems_of_a_set():
    rules = [
        {"name": "dockerhub", "source": "docker.io/*", "target": "docker.io/*", "credential_set": "dockerhub"},
        {"name": "DockerHub", "source": "ghcr.io/*", "target": "ghcr.io/*"},
        {"name": "library", "source": "docker.io/library/*", "target": "docker.io/library/*"},
        {"name": "mcr-creds", "source": "mcr.microsoft.com/dotnet/*", "target": "dotnet/*", "credential_set": "x"},
        {"name": "ghcr-cred", "source": "ghcr.io/org/*", "target": "org/*", "credential_set": "missing"},
        {"name": "under-aks", "source": "mcr.microsoft.com/oss/*", "target": "aks-managed-repository/oss/*"},
    ]
    problems = dict(acr.cache_rule_problems(rules, credential_sets=["dockerhub"], existing=[AKS], prefix="r"))
    assert "duplicate cache rule name" in problems["r[1].name"]
    assert "overlaps the target 'docker.io/*' of r[0]" in problems["r[2].target"]
    assert "unauthenticated pulls only" in problems["r[3].credential_set"]
    assert "'missing' is not a credential set" in problems["r[4].credential_set"]
    assert "existing rule aks-managed-mcr" in problems["r[5].target"]
    assert "r[0].target" not in problems


def test_cache_rule_limit():
    existing = [{"name": "rule-%04d" % i, "source": "docker.io/r%d" % i, "target": "r%d" % i} for i in range(1000)]
    problems = acr.cache_rule_problems([{"name": "one-more", "source": "ghcr.io/x", "target": "x"}],
                                       existing=existing, prefix="rules")
    assert problems == [("rules", "1001 cache rules; a registry holds at most 1000")]


@pytest.mark.parametrize("ref,expected", [
    ("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.3",
     {"registry": "nvcr.io", "repository": "nim/meta/llama-3.1-8b-instruct", "tag": "1.8.3", "digest": None}),
    ("docker.io/vllm/vllm-openai@sha256:" + "a" * 64,
     {"registry": "docker.io", "repository": "vllm/vllm-openai", "tag": None, "digest": "sha256:" + "a" * 64}),
    ("localhost:5000/app:1@sha256:" + "b" * 64,
     {"registry": "localhost:5000", "repository": "app", "tag": "1", "digest": "sha256:" + "b" * 64}),
])
def test_image_references(ref, expected):
    assert acr.parse_image_reference("source", ref) == expected


@pytest.mark.parametrize("ref,words", [
    ("vllm/vllm-openai:v1", "names no registry"),
    ("docker.io/vllm/vllm-openai@sha256:abc", "is not a sha256 digest"),
    ("docker.io/VLLM/openai:v1", "is not a repository path"),
    ("docker.io/vllm/openai:v1 2", "is not a tag"),
])
def test_bad_image_references(ref, words):
    with pytest.raises(InputError) as err:
        acr.parse_image_reference("source", ref)
    assert err.value.field == "source" and words in err.value.problem


def test_import_helpers_and_record():
    ref = acr.parse_image_reference("source", "docker.io/vllm/vllm-openai:v0.8.5")
    assert acr.source_image(ref) == "vllm/vllm-openai:v0.8.5"
    assert acr.default_target(ref) == "vllm/vllm-openai:v0.8.5"
    assert acr.default_target(acr.parse_image_reference("s", "ghcr.io/org/app")) == "org/app:latest"
    key = acr.ledger_key("vllm/vllm-openai:v0.8.5")
    assert key.startswith(acr.LEDGER_PREFIX) and acr.is_ledger_tag(key) and len(key) < 64
    assert key == acr.ledger_key("VLLM/vllm-openai:v0.8.5")
    assert not any(c in key for c in "<>%&\\?/")  # a valid ARM tag name
    long_source = "docker.io/" + "a/" * 200 + "b:1"
    assert acr.ledger_value("docker.io/x:1") == "docker.io/x:1"
    assert len(acr.ledger_value(long_source)) <= 256
    with pytest.raises(InputError):
        acr.check_target_tag("target_tags[0]", "vllm/vllm-openai")
