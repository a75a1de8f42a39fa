"""AWX / Automation Platform as code: job templates and surveys (every survey variable is an input of the
playbook, no secret in a survey, the Azure credential's environment is what the modules read), the custom
credential type, and the execution environment (``ansible-builder create`` succeeds and its context carries
the collection and its requirements; no image is built)."""
import json
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_auth import resolve_settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
# survey type -> argument spec types it can feed
SPEC_TYPES = {"text": {"str", "path", "raw"}, "textarea": {"str", "raw"}, "password": {"str", "raw"},
              "integer": {"int", "raw"}, "float": {"float", "raw"}, "multiplechoice": {"str", "raw"},
              "multiselect": {"list"}}
SECRET_NAME = re.compile(r"(token|secret|password|passwd|api_?key|private_key|credential)", re.IGNORECASE)
EXPECTED_PLAYBOOKS = {"playbooks/site.yml", "playbooks/verify.yml", "playbooks/teardown.yml", "playbooks/weights.yml"}


def load(path):
    with open(os.path.join(ROOT, path)) as handle:
        return yaml.safe_load(handle)


AWX = load("awx/job_templates.yml")
TEMPLATES = AWX["awx_job_templates"]


def role_specs(role):
    """Options of every entry point of a role of this collection: {name: spec}."""
    name = role.split(".")[-1]
    path = os.path.join(ROOT, "roles", name, "meta", "argument_specs.yml")
    if not os.path.exists(path):
        return {}
    options = {}
    for entry in (load(path).get("argument_specs") or {}).values():
        options.update(entry.get("options") or {})
    return options


def _roles_in_tasks(tasks):
    for task in tasks or []:
        for key in ("ansible.builtin.import_role", "ansible.builtin.include_role", "import_role", "include_role"):
            if isinstance(task.get(key), dict):
                yield task[key]["name"]
        for key in ("block", "rescue", "always"):
            yield from _roles_in_tasks(task.get(key))


def playbook_inputs(path, seen=None):
    """(roles the playbook runs, its own text) following import_playbook."""
    seen = seen if seen is not None else set()
    full = os.path.normpath(os.path.join(ROOT, path))
    if full in seen:
        return set(), ""
    seen.add(full)
    with open(full) as handle:
        text = handle.read()
    roles = set()
    for play in yaml.safe_load(text) or []:
        imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if imported:
            more_roles, more_text = playbook_inputs(os.path.relpath(os.path.join(os.path.dirname(full), imported), ROOT),
                                                    seen)
            roles |= more_roles
            text += more_text
            continue
        for role in play.get("roles") or []:
            roles.add(role["role"] if isinstance(role, dict) else role)
        for section in ("pre_tasks", "tasks", "post_tasks"):
            roles |= set(_roles_in_tasks(play.get(section)))
    return roles, text


def test_one_job_template_per_playbook():
    playbooks = [t["playbook"] for t in TEMPLATES]
    assert len(playbooks) == len(set(playbooks)) and set(playbooks) == EXPECTED_PLAYBOOKS
    assert len({t["name"] for t in TEMPLATES}) == len(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["playbook"] for t in TEMPLATES])
def test_survey_variables_are_inputs_of_the_playbook(template):
    assert os.path.exists(os.path.join(ROOT, template["playbook"])), template["playbook"]
    roles, text = playbook_inputs(template["playbook"])
    options = {}
    for role in roles:
        options.update(role_specs(role))
    for question in template["survey"]["spec"]:
        var = question["variable"]
        spec = options.get(var)
        if spec is None:
            # a variable the playbook itself reads, e.g. teardown_confirm
            owner = [r for r in os.listdir(os.path.join(ROOT, "roles")) if var in role_specs(r)]
            assert re.search(r"\{\{[^}]*\b%s\b" % re.escape(var), text), \
                "%s: survey variable %s is neither in the argument specs of %s nor read by the playbook%s" % (
                    template["name"], var, ", ".join(sorted(roles)),
                    "; it is an input of role %s, which %s does not run" % (owner[0], template["playbook"])
                    if owner else "")
            continue
        assert spec.get("type", "str") in SPEC_TYPES[question["type"]], (var, spec.get("type"), question["type"])
        if spec.get("choices") and question.get("choices"):
            assert set(question["choices"]) <= set(spec["choices"]), (var, question["choices"], spec["choices"])


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["playbook"] for t in TEMPLATES])
def test_survey_shape_is_what_awx_takes(template):
    survey = template["survey"]
    assert survey["name"] and "description" in survey and survey["spec"]
    variables = [q["variable"] for q in survey["spec"]]
    assert len(variables) == len(set(variables))
    for question in survey["spec"]:
        assert question["type"] in SURVEY_TYPES and question["question_name"] and "required" in question
        assert re.match(r"^[a-z_][a-z0-9_]*$", question["variable"])
        if question["type"] in ("multiplechoice", "multiselect"):
            assert question["choices"] and question.get("default", question["choices"][0]) in question["choices"]
        if "min" in question and "max" in question:
            assert question["min"] <= question["max"]
        if question["type"] in ("text", "textarea", "password") and question.get("default"):
            assert question.get("min", 0) <= len(question["default"]) <= question.get("max", 1024)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["playbook"] for t in TEMPLATES])
def test_no_secret_is_a_plain_survey_field(template):
    for question in template["survey"]["spec"]:
        var = question["variable"]
        if SECRET_NAME.search(var.replace("public_key", "")):
            assert question["type"] == "password", "%s asks for a secret (%s) as %s" % (
                template["name"], var, question["type"])
            assert not question.get("default"), "a password question has no default"


def test_tokens_come_from_the_credential_type_as_environment_only():
    weights = next(t for t in TEMPLATES if t["playbook"] == "playbooks/weights.yml")
    assert "model_hub" in weights["credentials"]
    assert not [q for q in weights["survey"]["spec"] if SECRET_NAME.search(q["variable"])]
    (hub,) = AWX["awx_credential_types"]
    assert set(hub["injectors"]) == {"env"}  # never extra_vars, never files
    assert hub["injectors"]["env"] == {"HF_TOKEN": "{{ hf_token }}", "NGC_API_KEY": "{{ ngc_api_key }}"}
    fields = hub["inputs"]["fields"]
    assert {f["id"] for f in fields} == {"hf_token", "ngc_api_key"} and all(f["secret"] for f in fields)


def test_every_template_names_known_credentials_and_azure_first():
    for template in TEMPLATES:
        assert set(template["credentials"]) <= {"azure", "machine", "model_hub"}
        assert template["credentials"][0] == "azure"


def test_the_azure_credential_environment_is_what_the_modules_read():
    injected = AWX["awx_azure_credential_type"]["injects"]
    assert AWX["awx_azure_credential_type"]["name"] == "Microsoft Azure Resource Manager"
    values = {"subscription": "sub-1", "client": "app-1", "secret": "s3cret", "tenant": "tenant-1",
              "cloud_environment": "AzureUSGovernment"}
    environ = dict((env, values[field]) for env, field in injected.items())
    settings = resolve_settings({"auth_source": "auto"}, environ)
    assert settings["kind"] == "service_principal" and settings["origin"] == "environment"
    assert (settings["subscription_id"], settings["client_id"], settings["client_secret"], settings["tenant_id"]) == \
        ("sub-1", "app-1", "s3cret", "tenant-1")
    assert settings["cloud"] == "AzureUSGovernment" and settings["arm_endpoint"] == "https://management.usgovcloudapi.net"


def test_playbooks_read_the_connection_from_module_defaults_that_awx_leaves_empty():
    """In AWX azure_connection is unset: every Azure play falls back to {} and the modules to the environment."""
    for template in TEMPLATES:
        if not os.path.exists(os.path.join(ROOT, template["playbook"])):
            continue
        _roles, text = playbook_inputs(template["playbook"])
        for line in text.splitlines():
            if "group/airgap.aks_inference.azure:" in line:
                assert "azure_connection | default({})" in line, (template["playbook"], line)


def test_configure_playbook_is_valid():
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "awx/configure.yml"], cwd=ROOT,
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")))
    assert proc.returncode == 0, proc.stderr


# -- execution environment ---------------------------------------------------------------------
EE = load("execution-environment.yml")


def _bounds(entries):
    return dict((c["name"], c.get("version")) for c in entries if c.get("type") != "file")


def test_execution_environment_definition():
    assert EE["version"] == 3 and EE["images"]["base_image"]["name"]
    deps = EE["dependencies"]
    assert deps["python"] == "requirements.txt" and deps["ansible_core"]["package_pip"].startswith("ansible-core>=")
    collections = deps["galaxy"]["collections"]
    (own,) = [c for c in collections if c.get("type") == "file"]
    assert own["name"] == "collections/" + os.path.basename(EE["additional_build_files"][0]["src"])
    assert EE["additional_build_files"][0]["dest"] == "collections"
    # the same lower bounds as requirements.yml, minus what only the molecule tests need
    root = _bounds(load("requirements.yml")["collections"])
    root.pop("containers.podman")
    assert _bounds(collections) == root and all(v.startswith(">=") for v in root.values())


def test_requirements_have_lower_bounds_only():
    for path in ("requirements.txt", "requirements-dev.txt"):
        with open(os.path.join(ROOT, path)) as handle:
            for line in handle:
                line = line.split("#")[0].strip()
                if line and not line.startswith("-r"):
                    assert "==" not in line and "<" not in line, (path, line)
    with open(os.path.join(ROOT, "requirements-dev.txt")) as handle:
        assert re.search(r"^ansible-builder>=3", handle.read(), re.MULTILINE)


@pytest.fixture(scope="module")
def ee_context(tmp_path_factory):
    context = tmp_path_factory.mktemp("ee") / "context"
    proc = subprocess.run(["bash", os.path.join(ROOT, "hack", "ee.sh"), "create", str(context)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", "")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return context


def test_ansible_builder_create_makes_a_context_with_the_collection_and_its_requirements(ee_context):
    build = ee_context / "_build"
    containerfile = (ee_context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="%s"' % EE["images"]["base_image"]["name"] in containerfile  # --build-arg overrides it
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        assert (build / "requirements.txt").read_text() == handle.read()
    requirements = yaml.safe_load((build / "requirements.yml").read_text())["collections"]
    assert {"kubernetes.core", "ansible.posix", "community.general"} <= set(c["name"] for c in requirements)
    assert "openssh-clients" in (build / "bindep.txt").read_text()

    tarball = build / "collections" / "airgap-aks_inference.tar.gz"
    with tarfile.open(str(tarball)) as archive:
        names = archive.getnames()
        manifest = json.load(archive.extractfile("MANIFEST.json"))
    galaxy = load("galaxy.yml")
    assert (manifest["collection_info"]["namespace"], manifest["collection_info"]["name"],
            manifest["collection_info"]["version"]) == ("airgap", "aks_inference", galaxy["version"])
    for member in ("plugins/modules/isolation_audit.py", "roles/verify/tasks/audit.yml", "playbooks/verify.yml",
                   "requirements.txt", "meta/runtime.yml"):
        assert member in names
    assert not [n for n in names if n.startswith((".venv", ".cache", ".git/", ".emulator"))]


def test_the_collection_installs_and_ansible_builder_finds_its_python_requirements(ee_context, tmp_path):
    """What the image build's galaxy and builder stages do with the context, minus Galaxy and the image."""
    build = ee_context / "_build"
    requirements = tmp_path / "requirements.yml"
    requirements.write_text(yaml.safe_dump({"collections": [
        c for c in yaml.safe_load((build / "requirements.yml").read_text())["collections"] if c.get("type") == "file"]}))
    target = tmp_path / "collections"
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-r", str(requirements),
                           "--collections-path", str(target)], cwd=str(build), capture_output=True, text=True,
                          timeout=300, check=False, env=dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "ansible_collections" / "airgap" / "aks_inference" / "plugins" / "modules" /
            "isolation_audit.py").exists()
    out = tmp_path / "pip.txt"
    proc = subprocess.run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect",
                           "--user-pip", str(build / "requirements.txt"), "--write-pip", str(out), str(target)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    merged = out.read_text()
    for package in ("azure-core", "azure-identity", "kubernetes", "jsonpatch", "kubernetes-validate"):
        assert re.search(r"^%s>=" % re.escape(package), merged, re.MULTILINE), merged
    assert "airgap.aks_inference" in merged
