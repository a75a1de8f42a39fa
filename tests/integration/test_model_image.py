# -*- coding: utf-8 -*-
"""The model_image role end to end on this machine: real podman builds, a real registry.

* a small generated model (safetensors shards, config, tokenizer) staged with the model_weights
  module_utils (directory source), so the share has a real manifest and completion marker, plus
  a file left beside the model that must stay out of the images;
* the registry login of the jump box: acr_login against the IMDS / ACR token exchange stand-in
  (tests/molecule_fixtures/standin_server.py) writes the credential file;
* Debian's docker-registry on 127.0.0.1 (hack/local-registry.sh) with TLS from a test CA and
  htpasswd holding the refresh token acr_login obtained: podman and skopeo must use the file;
* the serving image is a STAND-IN: localhost/airgap-debian12:latest (hack/build-base-image.sh),
  pushed to the registry as serving/vllm-openai-standin:test. It has no vLLM; only the image
  structure (layers, labels, environment, default arguments) is checked;
* HTTP(S)_PROXY point at a closed port and NO_PROXY lists only the loopback: nothing leaves.

The images are pulled back and checked: one more layer than the base (fat), one layer
(weights), the same weights blob in both, exactly the manifest's files in it with the right
owner and hashes, labels, offline environment, default argument, and no secret in `inspect`,
`history`, the configuration or the layers. A second run changes nothing; check mode builds
nothing; a tampered or unmarked share is refused before any build.

Skipped only when podman cannot run at all.
"""
import base64
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "tests", "molecule_fixtures"))
from weights_model import make_model  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights  # noqa: E402
from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm  # noqa: E402

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "model_image.yml")
BASE_STANDIN = "localhost/airgap-debian12:latest"
NAME = "tiny-llm"
REVISION = 'r1 "quoted" $HOME \\x'   # a free-form directory revision: quoting must survive into the labels
FAKE_HF_TOKEN = "hf_" + "Zq7" * 12
FAKE_API_KEY = "sk-" + "T0pSecretKey" * 3
BUILD_TASK = "Build | Verify the share, build and push the images"


def _podman_works():
    if not shutil.which("podman"):
        return "podman is not installed (bash hack/podman-setup.sh installs it)"
    proc = subprocess.run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"], capture_output=True,
                          text=True, timeout=120, check=False)
    if proc.returncode != 0:
        return "podman cannot run here: %s" % proc.stderr.strip()[-300:]
    return None


_WHY_NOT = _podman_works()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or "")


def sh(argv, check=True, timeout=600, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s"
                             % (" ".join(argv), proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def bcrypt_hash(password):
    """A bcrypt hash for docker-registry's htpasswd (glibc's crypt, else the htpasswd tool)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # pylint: disable=deprecated-module,import-outside-toplevel
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
        if hashed and hashed.startswith("$2"):
            return hashed
    except ImportError:
        pass
    proc = sh(["htpasswd", "-nbB", "u", password])  # apache2-utils
    return proc.stdout.strip().split(":", 1)[1]


class Playbook:
    def __init__(self, work, variables):
        self.work = work
        self.variables = variables
        self.runs = []

    def __call__(self, tag, check=False, **overrides):
        variables = dict(self.variables)
        variables.update(overrides)
        vars_file = os.path.join(self.work, "vars-%d.json" % len(self.runs))
        with open(vars_file, "w") as handle:
            json.dump(variables, handle)
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", PATH=BIN + os.pathsep + env.get("PATH", ""),
                   HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", ALL_PROXY="http://127.0.0.1:9",
                   NO_PROXY="127.0.0.1,localhost",
                   # the secrets a jump box has in its environment; none may reach an image
                   HF_TOKEN=FAKE_HF_TOKEN, OPENAI_API_KEY=FAKE_API_KEY)
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "tests", "integration", "inventory.yml"),
                PLAYBOOK, "--tags", tag, "-e", "@" + vars_file]
        if check:
            argv.append("--check")
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False)
        start = proc.stdout.find("{")
        events = json.loads(proc.stdout[start:]) if start >= 0 else {}
        run = Run(proc, events, time.monotonic() - started)
        self.runs.append(run)
        return run


class Run:
    def __init__(self, proc, events, seconds):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.events = events
        self.seconds = seconds

    @property
    def stats(self):
        return self.events.get("stats", {}).get("localhost", {})

    def result(self, name):
        for play in self.events.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == name or task["task"]["name"].endswith(" : " + name):
                    return task["hosts"].get("localhost", {})
        return None

    def __repr__(self):
        return "Run(rc=%s, stats=%s, stdout=%s, stderr=%s)" % (self.rc, self.stats, self.stdout[-3000:],
                                                               self.stderr[-2000:])


class Registry:
    def __init__(self, address, authfile, cert_dir):
        self.address = address
        self.flags = ["--authfile", authfile, "--cert-dir", cert_dir]

    def inspect(self, ref, config=False):
        argv = ["skopeo", "inspect", "--no-tags"] + (["--config"] if config else []) + self.flags
        return json.loads(sh(argv + ["docker://" + ref]).stdout)

    def tags(self, repo):
        proc = sh(["skopeo", "list-tags"] + self.flags + ["docker://%s/%s" % (self.address, repo)], check=False)
        return sorted(json.loads(proc.stdout)["Tags"]) if proc.returncode == 0 else []

    def layer_blob(self, ref, digest, dest):
        """The layer ``digest`` of ``ref`` as bytes (skopeo copy to an OCI layout)."""
        if not os.path.isdir(dest):
            sh(["skopeo", "copy", "--quiet", "--src-authfile", self.flags[1], "--src-cert-dir", self.flags[3],
                "docker://" + ref, "oci:" + dest + ":x"])
        with open(os.path.join(dest, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as handle:
            return handle.read()


def ours(registry):
    """The local images of the test registry (other jobs may use podman on this machine meanwhile)."""
    listing = sh(["podman", "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]).stdout
    return sorted(line for line in listing.splitlines() if " %s/" % registry in line)


@pytest.fixture(scope="module")
def bake(tmp_path_factory):  # noqa: C901 - one scenario, step by step
    started = time.monotonic()
    timings = {}
    work = str(tmp_path_factory.mktemp("model-image"))
    sh(["bash", os.path.join(ROOT, "hack", "local-registry.sh"), "install"])
    if sh(["podman", "image", "exists", BASE_STANDIN], check=False).returncode != 0:
        sh(["bash", os.path.join(ROOT, "hack", "build-base-image.sh")], timeout=1800)
    timings["tools"] = time.monotonic() - started

    # --- the staged share: a real manifest and completion marker, and a file beside the model
    import standin_server  # pylint: disable=import-outside-toplevel
    sums = make_model(os.path.join(work, "src"), shards=3)
    share = os.path.join(work, "share", NAME)
    staged = weights.run({"source": "directory", "src": os.path.join(work, "src"), "dest": share,
                          "revision": REVISION, "require_mount": False})
    assert staged["complete"]
    with open(os.path.join(share, "NOTES-not-in-the-manifest.txt"), "w") as handle:
        handle.write("operator notes " + FAKE_HF_TOKEN)

    # --- TLS, the IMDS / ACR exchange stand-in, the registry address
    ca, cert, key = standin_server.make_tls(os.path.join(work, "tls"))
    cert_dir = os.path.join(work, "certs")
    os.makedirs(cert_dir)
    shutil.copy(ca, os.path.join(cert_dir, "test-ca.crt"))
    azure = standin_server.make_azure_server(free_port(), os.path.join(work, "tls"))
    threading.Thread(target=azure.serve_forever, daemon=True).start()
    registry = "127.0.0.1:%d" % free_port()
    authfile = os.path.join(work, "auth.json")
    play = Playbook(work, {
        "test_registry": registry, "test_azure_url": "https://127.0.0.1:%d" % azure.server_address[1],
        "test_ca_path": ca,
        "model_image_weights_dir": share, "model_image_registry": registry,
        "model_image_base_image": "serving/vllm-openai-standin:test",
        "model_image_fat_image": "models/%s-vllm:{revision}-{digest}" % NAME,
        "model_image_weights_image": "models/%s-weights:{digest}" % NAME,
        "model_image_authfile": authfile, "model_image_cert_dir": cert_dir, "model_image_tls_verify": True,
    })
    reg_dir = os.path.join(work, "registry")
    try:
        # --- the jump box's login, then the registry that accepts exactly that credential
        login = play("login")
        assert login.rc == 0, login
        with open(authfile) as handle:
            user, refresh_token = base64.b64decode(json.load(handle)["auths"][registry]["auth"]).decode().split(":", 1)
        htpasswd = os.path.join(work, "htpasswd")
        with open(htpasswd, "w") as handle:
            handle.write("%s:%s\n" % (user, bcrypt_hash(refresh_token)))
        out = sh(["bash", os.path.join(ROOT, "hack", "local-registry.sh"), "start", "--dir", reg_dir, "--port",
                  registry.split(":")[1], "--tls-cert", cert, "--tls-key", key, "--htpasswd", htpasswd]).stdout
        assert out.strip().splitlines()[-1] == registry
        reg = Registry(registry, authfile, cert_dir)
        base_ref = "%s/serving/vllm-openai-standin:test" % registry
        sh(["podman", "push", "--quiet"] + reg.flags + [BASE_STANDIN, base_ref])
        timings["setup"] = time.monotonic() - started

        # --- check mode, first run, second run
        check = play("bake", check=True)
        tags_after_check = reg.tags("models/%s-vllm" % NAME) + reg.tags("models/%s-weights" % NAME)
        first = play("bake")
        assert first.rc == 0, first
        second = play("bake")
        refs = first.result(BUILD_TASK)["refs"]

        # --- pull the images back (the role removed its local copies) and look at them
        pulled = {}
        for kind, ref in refs.items():
            sh(["podman", "pull", "--quiet"] + reg.flags + [ref])
            pulled[kind] = {
                "inspect": sh(["podman", "image", "inspect", ref]).stdout,
                "history": sh(["podman", "history", "--no-trunc", "--format", "json", ref]).stdout,
                "history_text": sh(["podman", "history", "--no-trunc", ref]).stdout,
                "remote": reg.inspect(ref),
                "config": reg.inspect(ref, config=True),
            }
            pulled[kind]["layer"] = reg.layer_blob(ref, pulled[kind]["remote"]["Layers"][-1],
                                                   os.path.join(work, "oci-" + kind))
        base_remote = reg.inspect(base_ref)
        digests_before = dict((kind, reg.inspect(ref)["Digest"]) for kind, ref in refs.items())
        local_before = ours(registry)

        # --- a tampered share (one byte of a shard) is refused before any build, even with force
        shard = os.path.join(share, "model-00002-of-00003.safetensors")
        with open(shard, "r+b") as handle:
            handle.seek(4096)
            original = handle.read(1)
            handle.seek(4096)
            handle.write(bytes([original[0] ^ 0xFF]))
        # force: a verified share would be built again; keep_local: a build would stay in local storage
        tampered = play("bake", model_image_force=True, model_image_keep_local=True)
        with open(shard, "r+b") as handle:
            handle.seek(4096)
            handle.write(original)
        # --- an unmarked share (a staging run that did not finish) is refused too
        marker = os.path.join(share, wm.MARKER_NAME)
        os.rename(marker, marker + ".away")
        unmarked = play("bake", model_image_force=True, model_image_keep_local=True)
        os.rename(marker + ".away", marker)
        digests_after = dict((kind, reg.inspect(ref)["Digest"]) for kind, ref in refs.items())
        local_after = ours(registry)
        timings["total"] = time.monotonic() - started
        yield {
            "work": work, "share": share, "sums": sums, "staged": staged, "registry": registry, "reg": reg,
            "refresh_token": refresh_token, "check": check, "tags_after_check": tags_after_check, "first": first,
            "second": second, "refs": refs, "pulled": pulled, "base_remote": base_remote, "tampered": tampered,
            "unmarked": unmarked, "digests_before": digests_before, "digests_after": digests_after,
            "local_before": local_before, "local_after": local_after, "timings": timings, "runs": play.runs,
        }
    finally:
        # the images pulled back (by digest: no tag) and anything else of this registry
        listing = sh(["podman", "images", "--format", "{{.ID}} {{.Repository}}"], check=False).stdout.splitlines()
        ids = sorted(set(line.split()[0] for line in listing if line.split()[1:2]
                         and line.split()[1].startswith(registry + "/")))
        if ids:
            sh(["podman", "image", "rm", "--force"] + ids, check=False)
        sh(["bash", os.path.join(ROOT, "hack", "local-registry.sh"), "stop", "--dir", reg_dir], check=False)
        azure.shutdown()


def manifest_of(bake):
    with open(os.path.join(bake["share"], wm.MANIFEST_NAME)) as handle:
        return json.load(handle)


def test_check_mode_then_build_then_nothing(bake):
    check, first, second = bake["check"], bake["first"], bake["second"]
    assert check.rc == 0 and check.stats["changed"] >= 1, check
    assert [i["action"] for i in check.result(BUILD_TASK)["images"]] == ["build", "build"]
    assert bake["tags_after_check"] == []  # check mode pushed nothing
    assert first.stats["changed"] == 1
    actions = [(i["action"], i["pushed"]) for i in first.result(BUILD_TASK)["images"]]
    assert actions == [("built", True), ("built", True)]
    assert second.rc == 0 and second.stats["changed"] == 0 and second.stats["failures"] == 0, second
    assert [i["action"] for i in second.result(BUILD_TASK)["images"]] == ["unchanged", "unchanged"]
    assert second.result(BUILD_TASK)["refs"] == bake["refs"]


def test_tags_and_the_fact_for_the_workload(bake):
    digest = manifest_of(bake)["digest"]
    fact = bake["first"].result("Publish | Record the images for the workload stage")["ansible_facts"]["model_image"]
    assert fact["weights_digest"] == digest and fact["model_path"] == "/models/" + NAME
    assert fact["refs"] == bake["refs"]
    images = dict((i["kind"], i) for i in bake["first"].result(BUILD_TASK)["images"])
    assert images["fat"]["image"] == "%s/models/%s-vllm:r1-quoted-HOME-x-%s" % (bake["registry"], NAME, digest[7:19])
    assert images["weights"]["image"] == "%s/models/%s-weights:%s" % (bake["registry"], NAME, digest[7:19])
    for kind in ("fat", "weights"):
        assert bake["refs"][kind] == "%s/models/%s-%s@%s" % (bake["registry"], NAME, "vllm" if kind == "fat" else kind,
                                                             bake["digests_before"][kind])


def test_layers_weights_in_their_own_layer(bake):
    base_layers = bake["base_remote"]["Layers"]
    fat, weights_only = bake["pulled"]["fat"], bake["pulled"]["weights"]
    assert fat["remote"]["Layers"][:-1] == base_layers and len(fat["remote"]["Layers"]) == len(base_layers) + 1
    assert len(weights_only["remote"]["Layers"]) == 1
    # reproducible: the weights layer of both images is one blob, stored and uploaded once
    assert fat["remote"]["Layers"][-1] == weights_only["remote"]["Layers"][0]
    local = json.loads(fat["inspect"])[0]
    assert len(local["RootFS"]["Layers"]) == len(base_layers) + 1


def test_the_layer_holds_exactly_the_manifests_files(bake):
    manifest = manifest_of(bake)
    layer = tarfile.open(fileobj=io.BytesIO(bake["pulled"]["weights"]["layer"]), mode="r:*")
    files = {}
    for member in layer.getmembers():
        if member.isfile():
            assert (member.uid, member.gid) == (1000, 1000), member.name
            files[member.name] = hashlib.sha256(layer.extractfile(member).read()).hexdigest()
    prefix = "models/%s/" % NAME
    assert all(name.startswith(prefix) for name in files)
    expected = dict((prefix + e["path"], e["sha256"]) for e in manifest["files"])
    assert dict((k, v) for k, v in files.items() if k not in (prefix + wm.MANIFEST_NAME, prefix + wm.MARKER_NAME)) \
        == expected
    assert prefix + wm.MANIFEST_NAME in files and prefix + wm.MARKER_NAME in files
    assert prefix + wm.STATE_NAME not in files and prefix + "NOTES-not-in-the-manifest.txt" not in files
    assert expected == dict((prefix + k, v) for k, v in bake["sums"].items())


def test_labels_environment_and_default_arguments(bake):
    manifest = manifest_of(bake)
    for kind in ("fat", "weights"):
        labels = bake["pulled"][kind]["remote"]["Labels"]
        assert labels["io.airgap.aks-inference.weights.digest"] == manifest["digest"]
        assert labels["io.airgap.aks-inference.image.kind"] == kind
        assert labels["io.airgap.aks-inference.weights.path"] == "/models/" + NAME
        assert labels["org.opencontainers.image.revision"] == REVISION  # quoting survived the Containerfile
        assert labels["org.opencontainers.image.title"] == NAME
        assert json.loads(labels["io.airgap.aks-inference.weights.source"])["type"] == "directory"
        assert labels["io.airgap.aks-inference.image.recipe"].startswith("sha256:")
    fat = bake["pulled"]["fat"]["config"]["config"]
    assert "HF_HUB_OFFLINE=1" in fat["Env"] and "TRANSFORMERS_OFFLINE=1" in fat["Env"]
    assert "VLLM_NO_USAGE_STATS=1" in fat["Env"]
    assert fat["Cmd"] == ["/models/" + NAME]
    assert fat["Labels"]["org.opencontainers.image.base.name"] == "%s/serving/vllm-openai-standin:test" % bake["registry"]
    assert fat["Labels"]["org.opencontainers.image.base.digest"] == bake["base_remote"]["Digest"]
    weights_only = bake["pulled"]["weights"]["config"]["config"]
    assert not any(e.startswith(("HF_", "TRANSFORMERS_")) for e in weights_only.get("Env") or [])
    assert not weights_only.get("Cmd")


def test_no_secret_in_the_images_or_the_output(bake):
    secrets = [FAKE_HF_TOKEN, FAKE_API_KEY, bake["refresh_token"]]
    for kind, pulled in bake["pulled"].items():
        texts = {"inspect": pulled["inspect"], "history": pulled["history"], "history_text": pulled["history_text"],
                 "config": json.dumps(pulled["config"]),
                 "layer": pulled["layer"].decode("latin-1")}
        history = json.loads(pulled["history"])
        assert not any("ARG" in (h.get("CreatedBy") or h.get("created_by") or "") for h in history)
        for where, text in texts.items():
            for secret in secrets:
                assert secret not in text, "%s found in the %s of the %s image" % (secret[:6], where, kind)
    for run in bake["runs"]:
        for secret in secrets:
            assert secret not in run.stdout and secret not in run.stderr
    scrubbed = bake["first"].result(BUILD_TASK)["scrubbed_env"]
    assert "HF_TOKEN" in scrubbed and "OPENAI_API_KEY" in scrubbed


def test_a_tampered_share_is_refused_before_any_build(bake):
    tampered = bake["tampered"]
    assert tampered.rc != 0 and tampered.stats["failures"] == 1, tampered
    msg = tampered.result(BUILD_TASK)["msg"]
    assert msg.startswith("weights_dir: 1 of 9 files of %s do not match the manifest: "
                          "model-00002-of-00003.safetensors (sha256 differs)" % bake["share"]), msg
    assert "nothing was built" in msg
    unmarked = bake["unmarked"]
    assert unmarked.rc != 0 and "is not a complete share: .weights-complete is missing" in \
        unmarked.result(BUILD_TASK)["msg"]
    assert bake["digests_after"] == bake["digests_before"]  # nothing pushed
    assert bake["local_after"] == bake["local_before"]      # nothing built (keep_local would have kept it)


def test_timings(bake):
    timings = bake["timings"]
    runs = ", ".join("%.1fs" % run.seconds for run in bake["runs"])
    print("\nmodel_image integration: tools %.1fs, set-up %.1fs, total %.1fs; playbook runs: %s"
          % (timings["tools"], timings["setup"], timings["total"], runs))
