"""Microsoft.ContainerService in the emulator: managed clusters, agent pools, credentials, run-command, through
the real SDK pipeline; and the rules of a network-isolated cluster with a managed GPU pool."""
import base64
import io
import uuid
import zipfile

import pytest

AKS = "2026-08-01"
OLD_AKS = "2025-10-01"
MI = "2024-11-30"
ACR = "2025-04-01"
AUTHZ = "2022-04-01"
FEATURES = "2021-07-01"
ROLES = {"Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
         "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
         "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d"}


class Env:
    """Network, registry, identities and role assignments an isolated cluster needs."""

    def __init__(self, client, grant=("nodes", "apiserver", "mio", "acrpull"), rule=True, sku="Premium"):
        self.c = client
        client.make_rg()
        client.make_vnet(prefixes=("10.40.0.0/16",), subnets=[
            {"name": "nodes", "properties": {"addressPrefix": "10.40.0.0/22"}},
            {"name": "apiserver", "properties": {"addressPrefix": "10.40.4.0/28"}}])
        self.nodes = client.subnet("rg1", "vnet1", "nodes")
        self.apiserver = client.subnet("rg1", "vnet1", "apiserver")
        self.registry = client.rg("rg1") + "/providers/Microsoft.ContainerRegistry/registries/acrisolated"
        self.ok(client.put(self.registry, {"location": "westeurope", "sku": {"name": sku}}, api_version=ACR))
        if rule:
            self.ok(client.put(self.registry + "/cacheRules/aks-managed-mcr", {"properties": {
                "sourceRepository": "mcr.microsoft.com/*", "targetRepository": "aks-managed-repository/*"}},
                api_version=ACR))
        self.cp = self.identity("id-cp")
        self.kubelet = self.identity("id-kubelet")
        scopes = {"nodes": (self.nodes, "Network Contributor", self.cp),
                  "apiserver": (self.apiserver, "Network Contributor", self.cp),
                  "mio": (self.kubelet["id"], "Managed Identity Operator", self.cp),
                  "acrpull": (self.registry, "AcrPull", self.kubelet)}
        for key in grant:
            scope, role, who = scopes[key]
            self.assign(scope, role, who["properties"]["principalId"])
        self.cluster = client.rg("rg1") + "/providers/Microsoft.ContainerService/managedClusters/aks1"

    def ok(self, response):
        assert response.status_code in (200, 201, 202), response.text()
        if "Azure-AsyncOperation" in response.headers:
            self.c.poll(response)
        return self.c.body(response)

    def identity(self, name):
        return self.ok(self.c.put(self.c.rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                                  + name, {"location": "westeurope"}, api_version=MI))

    def assign(self, scope, role, principal):
        path = "%s/providers/Microsoft.Authorization/roleAssignments/%s" % (scope, uuid.uuid4())
        self.ok(self.c.put(path, {"properties": {
            "roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                                % (self.c.sub, ROLES[role]),
            "principalId": principal, "principalType": "ServicePrincipal"}}, api_version=AUTHZ))

    def register_feature(self):
        feature = "/subscriptions/%s/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/" \
                  "ManagedGPUExperiencePreview" % self.c.sub
        assert self.c.call("POST", feature + "/register", api_version=FEATURES).status_code == 200

    def body(self, **changes):
        props = {
            "kubernetesVersion": "1.34", "dnsPrefix": "aks1",
            "identityProfile": {"kubeletidentity": {"resourceId": self.kubelet["id"]}},
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "outboundType": "none"},
            "bootstrapProfile": {"artifactSource": "Cache", "containerRegistryId": self.registry},
            "apiServerAccessProfile": {"enablePrivateCluster": True, "enableVnetIntegration": True,
                                       "subnetId": self.apiserver},
            "autoUpgradeProfile": {"nodeOSUpgradeChannel": "NodeImage"},
            "agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5", "count": 2,
                                   "vnetSubnetID": self.nodes}],
        }
        body = {"location": "westeurope", "identity": {"type": "UserAssigned",
                                                       "userAssignedIdentities": {self.cp["id"]: {}}},
                "properties": props}
        for path, value in changes.items():
            node = body
            keys = path.split(".")
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            if value is None:
                node.pop(keys[-1], None)
            else:
                node[keys[-1]] = value
        return body

    def create(self, **changes):
        response = self.c.put(self.cluster, self.body(**changes), api_version=AKS)
        assert response.status_code == 201, response.text()
        return response

    def get(self, path=None, api_version=AKS):
        return self.c.body(self.c.get(path or self.cluster, api_version=api_version))

    def pool(self, name, props, api_version=AKS):
        return self.c.put(self.cluster + "/agentPools/" + name, {"properties": props}, api_version=api_version)


def error(client, response, status=400):
    assert response.status_code == status, response.text()
    return client.body(response)["error"]


@pytest.fixture
def env(client):
    return Env(client)


GPU = {"vmSize": "Standard_NC24ads_A100_v4", "count": 1, "nodeTaints": ["sku=gpu:NoSchedule"],
       "gpuProfile": {"driver": "Install", "nvidia": {"managementMode": "Managed"}}}


# -- clusters ---------------------------------------------------------------------------------
def test_isolated_cluster_is_created_over_time(client, arm, env):
    arm.set_time_scale(1.0)
    arm.set_duration("Microsoft.ContainerService/managedClusters", 600)
    response = env.create()
    body = client.body(response)
    assert body["properties"]["provisioningState"] == "Creating"
    assert "Azure-AsyncOperation" in response.headers
    assert env.get()["properties"]["agentPoolProfiles"][0]["provisioningState"] == "Creating"
    arm.advance(601)
    body = env.get()
    props = body["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["currentKubernetesVersion"] == "1.34.2"
    assert props["privateFQDN"].endswith(".privatelink.westeurope.azmk8s.io") and "fqdn" not in props
    assert props["networkProfile"]["outboundType"] == "none" and props["networkProfile"]["podCidr"] == "10.244.0.0/16"
    assert props["bootstrapProfile"] == {"artifactSource": "Cache", "containerRegistryId": env.registry}
    kubelet = props["identityProfile"]["kubeletidentity"]
    assert kubelet["objectId"] == env.kubelet["properties"]["principalId"]
    assert body["identity"]["userAssignedIdentities"][env.cp["id"]]["principalId"] == env.cp["properties"]["principalId"]
    [system] = props["agentPoolProfiles"]
    assert system["provisioningState"] == "Succeeded" and system["vnetSubnetID"] == env.nodes
    assert env.get(env.cluster + "/agentPools/system")["properties"]["mode"] == "System"


REFUSED = [
    ({"properties.bootstrapProfile": None}, "InvalidParameter", "outboundType none requires"),
    ({"properties.bootstrapProfile.artifactSource": "Direct"}, "InvalidParameter", "outboundType none requires"),
    ({"properties.autoUpgradeProfile.nodeOSUpgradeChannel": "SecurityPatch"}, "InvalidParameter", "NodeImage or None"),
    ({"properties.autoUpgradeProfile.nodeOSUpgradeChannel": "Unmanaged"}, "InvalidParameter", "NodeImage or None"),
    ({"properties.kubernetesVersion": "1.29"}, "K8sVersionNotSupported", "1.29"),
    ({"properties.apiServerAccessProfile.subnetId": None}, "InvalidParameter", "needs apiServerAccessProfile.subnetId"),
    ({"properties.agentPoolProfiles": []}, "BadRequest", "at least one agent pool"),
    ({"properties.identityProfile": {"kubeletidentity": {"resourceId": "/subscriptions/x/resourceGroups/rg1/providers/"
                                                         "Microsoft.ManagedIdentity/userAssignedIdentities/nope"}}},
     "CustomKubeletIdentityNotFound", "nope"),
    ({"properties.networkProfile.dnsServiceIP": "10.9.0.10"}, "InvalidDNSServiceIP", "10.9.0.10"),
]


@pytest.mark.parametrize("changes,code,words", REFUSED, ids=[c[1] + ":" + c[2] for c in REFUSED])
def test_isolated_rules(client, env, changes, code, words):
    err = error(client, client.put(env.cluster, env.body(**changes), api_version=AKS))
    assert err["code"] == code and words in err["message"], err


@pytest.mark.parametrize("kwargs,code,words", [
    ({"rule": False}, "InvalidBootstrapContainerRegistry", "aks-managed-mcr"),
    ({"sku": "Standard"}, "InvalidBootstrapContainerRegistry", "Premium"),
    ({"grant": ("nodes", "apiserver", "acrpull")}, "CustomKubeletIdentityMissingPermission", "Managed Identity Operator"),
])
def test_registry_and_identity_prerequisites(client, kwargs, code, words):
    env = Env(client, **kwargs)
    err = error(client, client.put(env.cluster, env.body(), api_version=AKS))
    assert err["code"] == code and words in err["message"], err


def test_missing_network_contributor_on_a_subnet(client):
    env = Env(client, grant=("nodes", "mio", "acrpull"))
    err = error(client, client.put(env.cluster, env.body(), api_version=AKS), status=403)
    assert err["code"] == "LinkedAuthorizationFailed" and env.apiserver in err["message"]


def test_missing_acr_pull_fails_the_create_operation(client):
    env = Env(client, grant=("nodes", "apiserver", "mio"))
    status = client.poll(env.create())
    assert status["status"] == "Failed" and status["error"]["code"] == "BootstrapImagePullFailed"
    assert env.get()["properties"]["provisioningState"] == "Failed"


def test_updates_aks_refuses(client, env):
    client.poll(env.create())
    for changes, code in (({"properties.bootstrapProfile.artifactSource": "Direct",
                            "properties.networkProfile.outboundType": "loadBalancer"}, "PropertyChangeNotAllowed"),
                          ({"properties.networkProfile.networkPlugin": "kubenet"}, "PropertyChangeNotAllowed"),
                          ({"properties.apiServerAccessProfile.enablePrivateCluster": False},
                           "PropertyChangeNotAllowed"),
                          ({"properties.kubernetesVersion": "1.33"}, "OperationNotAllowed"),
                          ({"properties.kubernetesVersion": "1.35.0", "properties.agentPoolProfiles": None},
                           None)):
        response = client.put(env.cluster, env.body(**changes), api_version=AKS)
        if code is None:
            assert response.status_code == 200, response.text()
            client.poll(response)
        else:
            assert error(client, response)["code"] == code
    assert env.get()["properties"]["currentKubernetesVersion"] == "1.35.0"


def test_upgrades_go_one_minor_at_a_time(client, env):
    body = env.body(**{"properties.kubernetesVersion": "1.33"})
    client.poll(client.put(env.cluster, body, api_version=AKS))
    err = error(client, client.put(env.cluster, env.body(**{"properties.kubernetesVersion": "1.35"}), api_version=AKS))
    assert err["code"] == "OperationNotAllowed" and "one minor version at a time" in err["message"]


def test_a_cluster_put_keeps_pools_it_does_not_list(client, env):
    client.poll(env.create())
    env.register_feature()
    client.poll(env.pool("gpu", GPU))
    body = env.get()
    body["tags"] = {"owner": "platform"}
    body["properties"]["agentPoolProfiles"] = [p for p in body["properties"]["agentPoolProfiles"]
                                               if p["name"] == "system"]
    client.poll(client.put(env.cluster, body, api_version=AKS))
    assert {p["name"] for p in env.get()["properties"]["agentPoolProfiles"]} == {"system", "gpu"}


def test_delete_takes_the_pools_along(client, arm, env):
    client.poll(env.create())
    response = client.delete(env.cluster, api_version=AKS)
    assert response.status_code == 202
    client.poll(response)
    assert not [rid for rid in arm.resources() if "/managedClusters/" in rid]


# -- agent pools ----------------------------------------------------------------------------
def test_no_pool_operation_while_the_cluster_is_being_created(client, arm, env):
    arm.set_time_scale(1.0)
    env.create()
    err = error(client, env.pool("gpu", GPU), status=409)
    assert err["code"] == "OperationNotAllowed" and "in progress" in err["message"]


def test_managed_gpu_needs_the_preview_feature(client, env):
    client.poll(env.create())
    err = error(client, env.pool("gpu", GPU))
    assert err["code"] == "PreviewFeatureNotRegistered" and "ManagedGPUExperiencePreview" in err["message"]
    env.register_feature()
    client.poll(env.pool("gpu", GPU))
    gpu = env.get(env.cluster + "/agentPools/gpu")["properties"]
    assert gpu["gpuProfile"] == {"driver": "Install", "nvidia": {"managementMode": "Managed"}}
    assert gpu["nodeTaints"] == ["sku=gpu:NoSchedule"]
    # an api-version without gpuProfile.nvidia does not show it
    assert env.get(env.cluster + "/agentPools/gpu", api_version=OLD_AKS)["properties"]["gpuProfile"] == {
        "driver": "Install"}


def test_the_preview_tag_on_an_older_api_version(client, env):
    client.poll(env.create())
    env.register_feature()
    props = dict(GPU, gpuProfile={"driver": "Install", "nvidia": {"managementMode": "Managed"}},
                 tags={"EnableManagedGPUExperience": "true"})
    client.poll(env.pool("gpu", props, api_version=OLD_AKS))
    gpu = env.get(env.cluster + "/agentPools/gpu")["properties"]
    assert "nvidia" not in gpu["gpuProfile"]  # unknown to that api-version: ignored
    assert gpu["tags"] == {"EnableManagedGPUExperience": "true"}


POOL_REFUSED = [
    ({"vmSize": "Standard_D4ds_v5", "gpuProfile": {"driver": "Install"}}, "GPUProfileNotSupportedOnVMSize"),
    (dict(GPU, vmSize="Standard_NV4as_v4"), "GPUProfileNotSupportedOnVMSize"),
    (dict(GPU, gpuProfile={"driver": "None", "nvidia": {"managementMode": "Managed"}}), "InvalidParameter"),
    ({"vmSize": "Standard_D4ds_v5", "enableAutoScaling": True, "minCount": 3, "maxCount": 1}, "InvalidMinCount"),
    ({"vmSize": "Standard_D4ds_v5", "nodeTaints": ["sku=gpu"]}, "InvalidNodeTaint"),
    ({"vmSize": "Standard_D4ds_v5", "mode": "System", "scaleSetPriority": "Spot"}, "SpotPoolCannotBeSystemPool"),
    ({"vmSize": "Standard_D4ds_v5", "orchestratorVersion": "1.35"}, "NodePoolMcVersionIncompatible"),
    ({"vmSize": "Standard_D4ds_v5", "nodeLabels": {"kubernetes.azure.com/mode": "x"}}, "InvalidNodeLabel"),
]


@pytest.mark.parametrize("props,code", POOL_REFUSED, ids=[c[1] for c in POOL_REFUSED])
def test_pool_rules(client, env, props, code):
    client.poll(env.create())
    env.register_feature()
    assert error(client, env.pool("gpu", props))["code"] == code


def test_pool_invalid_name(client, env):
    client.poll(env.create())
    assert error(client, env.pool("GPU1", {"vmSize": "Standard_D4ds_v5"}))["code"] == "InvalidAgentPoolName"


def test_pool_fields_fixed_at_creation(client, env):
    client.poll(env.create())
    env.register_feature()
    client.poll(env.pool("gpu", GPU))
    for change, prop in (({"vmSize": "Standard_NC48ads_A100_v4"}, "vmSize"),
                         ({"gpuProfile": {"driver": "Install", "nvidia": {"managementMode": "Unmanaged"}}},
                          "gpuProfile.nvidia.managementMode"),
                         ({"gpuProfile": {"driver": "None"}}, "gpuProfile.driver"),
                         ({"scaleSetPriority": "Spot"}, "scaleSetPriority")):
        err = error(client, env.pool("gpu", dict(GPU, **change)))
        assert err["code"] == "PropertyChangeNotAllowed" and prop in err["message"], err
    client.poll(env.pool("gpu", dict(GPU, count=2, nodeTaints=["sku=gpu:NoSchedule", "a=b:NoExecute"])))
    assert env.get(env.cluster + "/agentPools/gpu")["properties"]["count"] == 2


def test_spot_pool_gets_the_spot_taint_and_label(client, env):
    client.poll(env.create())
    client.poll(env.pool("spot", {"vmSize": "Standard_D4ds_v5", "scaleSetPriority": "Spot", "count": 0,
                                  "nodeTaints": ["sku=gpu:NoSchedule"]}))
    props = env.get(env.cluster + "/agentPools/spot")["properties"]
    assert props["nodeTaints"] == ["sku=gpu:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"]
    assert props["nodeLabels"] == {"kubernetes.azure.com/scalesetpriority": "spot"}
    assert props["scaleSetEvictionPolicy"] == "Delete" and props["spotMaxPrice"] == -1


def test_the_last_system_pool_stays(client, env):
    client.poll(env.create())
    err = error(client, client.delete(env.cluster + "/agentPools/system", api_version=AKS))
    assert err["code"] == "OperationNotAllowed" and "last System pool" in err["message"]
    client.poll(env.pool("gpu", {"vmSize": "Standard_D4ds_v5", "count": 1}))
    response = client.delete(env.cluster + "/agentPools/gpu", api_version=AKS)
    assert response.status_code == 202
    client.poll(response)
    assert env.c.get(env.cluster + "/agentPools/gpu", api_version=AKS).status_code == 404


# -- credentials and run-command ---------------------------------------------------------------
def test_credentials_are_reads(client, arm, env):
    client.poll(env.create())
    arm.clear_requests()
    response = client.call("POST", env.cluster + "/listClusterUserCredential", api_version=AKS)
    config = base64.b64decode(client.body(response)["kubeconfigs"][0]["value"]).decode()
    assert "server: https://aks1-" in config and ".privatelink.westeurope.azmk8s.io:443" in config
    admin = client.call("POST", env.cluster + "/listClusterAdminCredential", api_version=AKS)
    assert client.body(admin)["kubeconfigs"][0]["name"] == "clusterAdmin"
    assert arm.writes() == []


def test_admin_credentials_refused_without_local_accounts(client, env):
    client.poll(client.put(env.cluster, env.body(**{"properties.disableLocalAccounts": True,
                                                    "properties.aadProfile": {"managed": True,
                                                                              "enableAzureRBAC": True}}),
                           api_version=AKS))
    err = error(client, client.call("POST", env.cluster + "/listClusterAdminCredential", api_version=AKS))
    assert "disable local accounts" in err["message"]
    user = client.call("POST", env.cluster + "/listClusterUserCredential", api_version=AKS)
    assert "kubelogin" in base64.b64decode(client.body(user)["kubeconfigs"][0]["value"]).decode()


def test_run_command_records_the_command_and_files(client, arm, env):
    client.poll(env.create())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("deployment.yaml", "kind: Deployment\n")
    context = base64.b64encode(archive.getvalue()).decode()
    arm.set_time_scale(1.0)
    response = client.call("POST", env.cluster + "/runCommand",
                           {"command": "kubectl apply -f deployment.yaml", "context": context}, api_version=AKS)
    assert response.status_code == 202 and "/commandResults/" in response.headers["Location"]
    assert "Azure-AsyncOperation" not in response.headers
    pending = client.call("GET", response.headers["Location"])
    assert pending.status_code == 202 and pending.headers["Location"]
    arm.advance(30)
    done = client.body(client.call("GET", response.headers["Location"]))
    assert done["properties"]["exitCode"] == 0 and done["properties"]["provisioningState"] == "succeeded"
    assert "kubectl apply -f deployment.yaml" in done["properties"]["logs"]
    assert "deployment.yaml (17 bytes)" in done["properties"]["logs"]


def test_run_command_refusals(client, env):
    client.poll(client.put(env.cluster, env.body(**{"properties.apiServerAccessProfile.disableRunCommand": True}),
                           api_version=AKS))
    err = error(client, client.call("POST", env.cluster + "/runCommand", {"command": "kubectl get ns"},
                                    api_version=AKS))
    assert err["code"] == "RunCommandDisabled"
    assert error(client, client.call("POST", env.cluster + "/runCommand", {"command": ""},
                                     api_version=AKS))["code"] == "InvalidParameter"
    missing = client.call("GET", env.cluster + "/commandResults/nope", api_version=AKS)
    assert missing.status_code == 404
