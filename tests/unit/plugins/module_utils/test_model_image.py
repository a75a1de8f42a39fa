# -*- coding: utf-8 -*-
"""plugins/module_utils/model_image.py: references, the build context, the Containerfile, labels and
the run against a fake podman/skopeo (a dict registry and a dict local store)."""
import hashlib
import json
import os
import re

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import model_image as mi
from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import WeightsError

REG = "registry.example.internal:5000"
BASE = REG + "/vllm/vllm-openai:v0.8.5"
BASE_DIGEST = "sha256:" + "b" * 64


# ----------------------------------------------------------------------------------------------
# a staged share, written the way model_weights writes it
# ----------------------------------------------------------------------------------------------
def make_share(root, files=None, revision="abc123", marker=True, extra=True):
    files = files or {"config.json": b'{"a": 1}', "model-00001-of-00002.safetensors": b"x" * 1000,
                      "model-00002-of-00002.safetensors": b"y" * 500, "sub/tokenizer.json": b"{}"}
    os.makedirs(root, exist_ok=True)
    entries = []
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        entries.append(wm.file_entry(rel, len(data), hashlib.sha256(data).hexdigest()))
    manifest = wm.build_manifest({"type": "huggingface", "repo_id": "acme/tiny", "endpoint": "https://hub.example"},
                                 revision, entries)
    with open(os.path.join(root, wm.MANIFEST_NAME), "wb") as handle:
        handle.write(wm.dumps(manifest))
    if marker:
        with open(os.path.join(root, wm.MARKER_NAME), "w") as handle:
            json.dump(wm.marker_body(manifest), handle)
    with open(os.path.join(root, wm.STATE_NAME), "w") as handle:
        handle.write("{}")
    if extra:
        with open(os.path.join(root, "notes.txt"), "w") as handle:
            handle.write("left beside the model")
    return manifest


@pytest.fixture
def share(tmp_path):
    root = str(tmp_path / "share" / "tiny")
    return root, make_share(root)


def params(root, **over):
    out = {"weights_dir": root, "registry": REG, "base_image": "vllm/vllm-openai:v0.8.5",
           "fat_image": "models/tiny-vllm:{revision}-{digest}", "weights_image": "models/tiny-weights:{digest}",
           "runtime": "podman", "runtime_path": "/usr/bin/podman", "skopeo": "/usr/bin/skopeo", "timestamp": 0}
    out.update(over)
    return out


# ----------------------------------------------------------------------------------------------
# a fake podman + skopeo
# ----------------------------------------------------------------------------------------------
_LABEL_RE = re.compile(r'"((?:[^"\\]|\\.)*)"="((?:[^"\\]|\\.)*)"')


def _unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def labels_of(containerfile):
    line = containerfile[containerfile.index("\nLABEL ") + 1:]
    line = line[:line.index("\nCMD") if "\nCMD" in line else len(line)]
    return dict((_unescape(k), _unescape(v)) for k, v in _LABEL_RE.findall(line))


class FakeTools:
    def __init__(self, registry=None):
        self.registry = dict(registry if registry is not None else {BASE: {"digest": BASE_DIGEST, "labels": {}, "config": "sha256:" + "c" * 64}})
        self.local = {}
        self.calls = []
        self.envs = []
        self.fail = {}  # verb -> (rc, stderr)

    def verbs(self):
        return [c[0] for c in self.calls]

    def __call__(self, argv, env):
        self.envs.append(env)
        tool = os.path.basename(argv[0])
        if tool == "skopeo":
            ref = argv[-1][len("docker://"):]
            verb = "inspect-raw" if "--raw" in argv else "inspect"
            self.calls.append((verb, ref, argv))
            if verb in self.fail:
                return self.fail[verb]
            image = self.registry.get(ref)
            if image is None:
                return 1, "", 'level=fatal msg="reading manifest in %s: manifest unknown: manifest unknown"' % ref
            if verb == "inspect-raw":
                return 0, json.dumps({"config": {"digest": image["config"]}}), ""
            return 0, json.dumps({"Digest": image["digest"], "Labels": image["labels"], "Layers": []}), ""
        verb = argv[1] if argv[1] in ("build", "push") else argv[1] + "-" + argv[2]
        self.calls.append((verb, argv[-1] if verb != "build" else argv[argv.index("--tag") + 1], argv))
        if verb in self.fail:
            return self.fail[verb]
        if verb == "image-inspect":
            image = self.local.get(argv[-1])
            if image is None:
                return 125, "", "Error: %s: image not known" % argv[-1]
            return 0, json.dumps([{"Id": image["config"][7:], "Config": {"Labels": image["labels"]}}]), ""
        if verb == "build":
            with open(argv[argv.index("--file") + 1]) as handle:
                text = handle.read()
            ignore = os.path.join(os.path.dirname(argv[argv.index("--file") + 1]), mi.IGNOREFILE)
            assert os.path.exists(ignore)
            stamp = argv[argv.index("--timestamp") + 1] if "--timestamp" in argv else str(len(self.calls))
            config = "sha256:" + hashlib.sha256((text + stamp).encode()).hexdigest()
            tag = argv[argv.index("--tag") + 1]
            self.local[tag] = {"labels": labels_of(text), "config": config, "containerfile": text}
            return 0, "", ""
        if verb == "push":
            ref = argv[-1]
            image = self.local[ref]
            digest = "sha256:" + hashlib.sha256(image["config"].encode()).hexdigest()
            with open(argv[argv.index("--digestfile") + 1], "w") as handle:
                handle.write(digest)
            self.registry[ref] = {"digest": digest, "labels": image["labels"], "config": image["config"]}
            return 0, "", ""
        if verb == "image-rm":
            self.local.pop(argv[-1], None)
            return 0, "", ""
        raise AssertionError("unexpected command %r" % argv)


def run(tools, p, check_mode=False, verifier=None):
    return mi.run(p, check_mode=check_mode, runner=tools, verifier=verifier)


# ----------------------------------------------------------------------------------------------
# references
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,registry,path,tag,digest", [
    ("myacr.azurecr.io/vllm/vllm-openai:v0.8.5", "myacr.azurecr.io", "vllm/vllm-openai", "v0.8.5", None),
    ("127.0.0.1:5000/a/b:1", "127.0.0.1:5000", "a/b", "1", None),
    ("localhost/airgap-debian12:latest", "localhost", "airgap-debian12", "latest", None),
    ("registry:5000/x@sha256:" + "a" * 64, "registry:5000", "x", None, "sha256:" + "a" * 64),
    ("vllm/vllm-openai:v1", None, "vllm/vllm-openai", "v1", None),
    ("models/tiny", None, "models/tiny", None, None),
])
def test_parse_reference(text, registry, path, tag, digest):
    ref = mi.parse_reference(text, "f")
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)
    assert str(ref) == text


@pytest.mark.parametrize("text,problem", [
    ("", "not an image reference"),
    ("a b:1", "not an image reference"),
    ("reg.io/Upper/case:1", "lower-case"),
    ("reg.io/a:bad/tag", "lower-case"),
    ("reg.io/a:" + "t" * 129, "tag"),
    ("reg.io/a@sha256:123", "digest"),
])
def test_parse_reference_refuses(text, problem):
    with pytest.raises(mi.ImageError, match=problem) as err:
        mi.parse_reference(text, "base_image")
    assert err.value.msg.startswith("base_image: ")


def test_qualify_keeps_images_in_the_private_registry():
    assert str(mi.qualify("vllm/x:1", "f", "myacr.azurecr.io")) == "myacr.azurecr.io/vllm/x:1"
    assert str(mi.qualify("MyAcr.azurecr.io/vllm/x:1", "f", "myacr.azurecr.io")) == "myacr.azurecr.io/vllm/x:1"
    with pytest.raises(mi.ImageError, match="^base_image: 'docker.io/vllm/x:1' is not in the private registry"):
        mi.qualify("docker.io/vllm/x:1", "base_image", "myacr.azurecr.io")
    with pytest.raises(mi.ImageError, match="names no registry"):
        mi.qualify("vllm/x:1", "base_image", None)
    with pytest.raises(mi.ImageError, match="no implicit latest"):
        mi.qualify("vllm/x", "base_image", "myacr.azurecr.io")
    with pytest.raises(mi.ImageError, match="name a tag"):
        mi.qualify("m/x@sha256:" + "a" * 64, "fat_image", "myacr.azurecr.io", need_tag=True)
    with pytest.raises(mi.ImageError, match="not by a digest"):
        mi.qualify("m/x:1@sha256:" + "a" * 64, "fat_image", "myacr.azurecr.io", need_tag=True, allow_digest=False)


def test_expand_placeholders():
    digest = "sha256:0123456789abcdef" + "0" * 48
    assert mi.expand("m/x:{revision}-{digest}", "fat_image", digest, "main@v1 2") == "m/x:main-v1-2-0123456789ab"
    assert mi.expand("m/x:fixed", "fat_image", digest, None) == "m/x:fixed"
    with pytest.raises(mi.ImageError, match="^fat_image: uses {revision} but the manifest records no revision"):
        mi.expand("m/x:{revision}", "fat_image", digest, None)
    with pytest.raises(mi.ImageError, match=r"unknown placeholder \{tag\}"):
        mi.expand("m/x:{tag}", "fat_image", digest, "r")


# ----------------------------------------------------------------------------------------------
# environment, ignore file, Containerfile
# ----------------------------------------------------------------------------------------------
def test_secret_env_names():
    env = {"PATH": "/usr/bin", "HOME": "/root", "HF_TOKEN": "x", "NGC_API_KEY": "y", "AZURE_CLIENT_SECRET": "z",
           "MY_PASSWORD": "p", "SOMETHING": "hf_" + "a" * 30, "REGISTRY_AUTH_FILE": "/root/auth.json",
           "DOCKER_CONFIG": "/root/.docker", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
           "XDG_RUNTIME_DIR": "/run/user/0", "SSH_AUTH_SOCK": "/tmp/agent"}
    assert mi.secret_env_names(env) == ["AZURE_CLIENT_SECRET", "HF_TOKEN", "MY_PASSWORD", "NGC_API_KEY", "SOMETHING"]


def test_ignore_file_takes_back_only_what_the_manifest_lists(share):
    root, manifest = share
    text = mi.ignore_file(manifest)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines[0] == "**"
    assert sorted(lines[1:]) == sorted("!" + p for p in [e["path"] for e in manifest["files"]]
                                       + [wm.MANIFEST_NAME, wm.MARKER_NAME])
    assert "notes.txt" not in text and wm.STATE_NAME not in text


def test_ignore_file_escapes_and_refuses_what_it_cannot_name():
    entry = wm.file_entry
    manifest = wm.build_manifest({"type": "directory"}, None, [entry("a/f[1]*.bin", 1, "0" * 64)])
    assert "!a/f\\[1\\]\\*.bin" in mi.ignore_file(manifest).splitlines()
    manifest = wm.build_manifest({"type": "directory"}, None, [entry("d[1]/f.bin", 1, "0" * 64)])
    with pytest.raises(mi.ImageError, match="^weights_dir: the manifest lists 'd\\[1\\]/f.bin', below a directory"):
        mi.ignore_file(manifest)
    manifest = wm.build_manifest({"type": "directory"}, None, [entry("f.bin ", 1, "0" * 64)])
    with pytest.raises(mi.ImageError, match="leading or trailing blanks"):
        mi.ignore_file(manifest)


def test_quote():
    assert mi.quote('a "b" $HOME \\x', "f") == '"a \\"b\\" \\$HOME \\\\x"'
    with pytest.raises(mi.ImageError, match="^labels.x: 'a\\\\nb' holds control characters"):
        mi.quote("a\nb", "labels.x")


def settings(root, **over):
    return mi.Settings.from_params(params(root, **over))


def fat_and_weights(root, manifest, **over):
    s = settings(root, **over)
    targets = s.targets(manifest)
    ignore = mi.ignore_file(manifest)
    fat = mi.image_spec("fat", s, manifest, targets["fat"], "%s/vllm/vllm-openai@%s" % (REG, BASE_DIGEST), ignore)
    weights = mi.image_spec("weights", s, manifest, targets["weights"], "scratch", ignore)
    return fat, weights


def test_fat_containerfile(share):
    root, manifest = share
    fat, _weights = fat_and_weights(root, manifest, fat_env={"VLLM_NO_USAGE_STATS": "1"})
    lines = fat.containerfile.splitlines()
    assert lines[1] == "FROM %s/vllm/vllm-openai@%s" % (REG, BASE_DIGEST)
    assert lines[2] == "COPY --chown=1000:1000 . /models/tiny/"
    assert lines[3] == 'ENV HF_HUB_OFFLINE="1" \\'
    assert 'TRANSFORMERS_OFFLINE="1"' in fat.containerfile and 'VLLM_NO_USAGE_STATS="1"' in fat.containerfile
    assert lines[-1] == 'CMD ["/models/tiny"]'
    assert not any(line.startswith("ARG") for line in lines)
    assert labels_of(fat.containerfile) == fat.labels
    assert fat.labels[mi.LABEL_DIGEST] == manifest["digest"]
    assert fat.labels[mi.LABEL_KIND] == "fat"
    assert fat.labels["org.opencontainers.image.revision"] == "abc123"
    assert fat.labels["org.opencontainers.image.source"] == "https://hub.example/acme/tiny"
    assert fat.labels["org.opencontainers.image.base.name"] == BASE
    assert fat.labels["org.opencontainers.image.base.digest"] == BASE_DIGEST
    assert json.loads(fat.labels[mi.LABEL_SOURCE])["repo_id"] == "acme/tiny"
    assert str(fat.ref) == "%s/models/tiny-vllm:abc123-%s" % (REG, manifest["digest"][7:19])


def test_weights_containerfile(share):
    root, manifest = share
    _fat, weights = fat_and_weights(root, manifest, uid=1001, gid=0, model_path="/models/x")
    lines = weights.containerfile.splitlines()
    assert lines[1:3] == ["FROM scratch", "COPY --chown=1001:0 . /models/x/"]
    assert not any(line.startswith(("ENV", "CMD", "ARG")) for line in lines)
    assert weights.labels[mi.LABEL_PATH] == "/models/x" and "org.opencontainers.image.base.name" not in weights.labels


def test_fat_args_replace_the_default_argument(share):
    root, manifest = share
    fat, _weights = fat_and_weights(root, manifest, fat_args=["--model", "/models/tiny", "--served-model-name", "t"])
    assert fat.containerfile.splitlines()[-1] == 'CMD ["--model", "/models/tiny", "--served-model-name", "t"]'


def test_recipe_follows_everything_but_nothing_else(share):
    root, manifest = share
    first = fat_and_weights(root, manifest)
    assert first[0].labels[mi.LABEL_RECIPE] == fat_and_weights(root, manifest)[0].labels[mi.LABEL_RECIPE]
    for over in ({"fat_args": ["x"]}, {"uid": 0}, {"timestamp": 5}, {"format": "docker"}, {"labels": {"a": "b"}},
                 {"model_path": "/models/other"}, {"fat_env": {"A": "1"}}):
        other = fat_and_weights(root, manifest, **over)
        assert other[0].labels[mi.LABEL_RECIPE] != first[0].labels[mi.LABEL_RECIPE], over
    # the weights image does not depend on the fat image's arguments
    assert fat_and_weights(root, manifest, fat_args=["x"])[1].labels == first[1].labels


def test_compare():
    desired = {mi.LABEL_DIGEST: "sha256:1", mi.LABEL_RECIPE: "sha256:r"}
    assert mi.compare(None, desired) == (False, "not in the registry")
    assert not mi.compare({mi.LABEL_DIGEST: "sha256:2", mi.LABEL_RECIPE: "sha256:r"}, desired)[0]
    match, reason = mi.compare({mi.LABEL_DIGEST: "sha256:1", mi.LABEL_RECIPE: "sha256:other"}, desired)
    assert not match and "another recipe" in reason
    assert mi.compare(dict(desired, other="x"), desired)[0]


# ----------------------------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("over,message", [
    ({"weights_dir": "relative"}, "^weights_dir: 'relative' must be an absolute path"),
    ({"images": ["fat", "thin"]}, "^images: "),
    ({"images": []}, "^images: "),
    ({"base_image": None}, "^base_image: required to build the fat image"),
    ({"base_image": "docker.io/vllm/vllm-openai:v1"}, "^base_image: .* is not in the private registry"),
    ({"fat_image": None}, "^fat_image: required"),
    ({"weights_image": ""}, "^weights_image: required"),
    ({"fat_image": "models/x"}, "^fat_image: .*name a tag"),
    ({"fat_image": "models/x:{nope}"}, "^fat_image: unknown placeholder"),
    ({"model_path": "models/x"}, "^model_path: "),
    ({"model_path": "/models/../etc"}, "^model_path: "),
    ({"model_path": "/models/a b"}, "^model_path: "),
    ({"name": "a/b"}, "^name: "),
    ({"registry": "https://acr.io"}, "^registry: "),
    ({"uid": -1}, "^uid: "),
    ({"gid": True}, "^gid: "),
    ({"fat_env": {"HF_TOKEN": "abc"}}, "^fat_env.HF_TOKEN: .*an image must never carry a credential"),
    ({"fat_env": {"X": "hf_" + "a" * 30}}, "^fat_env.X: the value looks like a Hugging Face token"),
    ({"fat_env": {"HF_HUB_OFFLINE": "0"}}, "^fat_env.HF_HUB_OFFLINE: the offline flags are always set"),
    ({"fat_env": {"1X": "1"}}, "^fat_env.1X: not a valid environment variable name"),
    ({"fat_args": ["--api-key", "secret"]}, r"^fat_args\[0\]: the option --api-key passes a credential"),
    ({"labels": {mi.LABEL_DIGEST: "x"}}, "^labels.io.airgap.aks-inference.weights.digest: .* the module's own"),
    ({"labels": {"note": "Bearer abcdefghijklmnopqrstuvwxyz"}}, "^labels.note: the value looks like a bearer token"),
    ({"timestamp": -2}, "^timestamp: "),
    ({"verify": "never"}, "^verify: "),
    ({"workers": 0}, "^workers: "),
    ({"runtime": "buildah"}, "^runtime: "),
])
def test_bad_options_name_the_option(share, over, message):
    root, _manifest = share
    with pytest.raises(mi.ImageError, match=message):
        mi.Settings.from_params(params(root, **over))


def test_same_target_twice_is_refused(share):
    root, manifest = share
    s = settings(root, fat_image="models/x:1", weights_image="models/x:1")
    with pytest.raises(mi.ImageError, match="^weights_image: .* is also fat_image"):
        s.targets(manifest)


def test_images_subset_needs_only_its_options(share):
    root, _manifest = share
    s = settings(root, images=["weights"], base_image=None, fat_image=None)
    assert s.images == ["weights"] and s.base_image is None
    assert settings(root, name="", model_path="").model_path == "/models/tiny"


# ----------------------------------------------------------------------------------------------
# the run
# ----------------------------------------------------------------------------------------------
def test_first_run_builds_pushes_and_reads_back(share):
    root, manifest = share
    tools = FakeTools()
    result = run(tools, params(root))
    assert result["changed"] and result["weights_digest"] == manifest["digest"]
    assert [(i["kind"], i["action"], i["pushed"]) for i in result["images"]] == [("fat", "built", True),
                                                                                 ("weights", "built", True)]
    assert tools.verbs() == [
        "inspect",                                    # the base, pinned to its digest
        "inspect",                                    # fat in the registry: absent
        "inspect",                                    # weights in the registry: absent
        "image-inspect", "build", "image-inspect", "push", "inspect", "image-rm",
        "image-inspect", "build", "image-inspect", "push", "inspect", "image-rm",
    ]
    fat = result["images"][0]
    assert fat["base_from"] == "%s/vllm/vllm-openai@%s" % (REG, BASE_DIGEST)
    assert fat["reference"] == "%s@%s" % (fat["image"].rsplit(":", 1)[0], tools.registry[fat["image"]]["digest"])
    assert result["refs"] == {"fat": fat["reference"], "weights": result["images"][1]["reference"]}
    assert tools.local == {}  # removed after the push
    build = [c[2] for c in tools.calls if c[0] == "build"][0]
    assert build[-1] == root and "--layers=false" in build and "--http-proxy=false" in build
    assert "--identity-label=false" in build and build[build.index("--timestamp") + 1] == "0"
    assert "--build-arg" not in " ".join(build)
    assert result["verified"]["files"] == 4 and result["verified"]["extra_files"] == ["notes.txt"]
    assert result["diff"]["before"] == {"fat": None, "weights": None}
    assert result["diff"]["after"]["fat"][mi.LABEL_DIGEST] == manifest["digest"]


def test_second_run_changes_nothing(share):
    root, _manifest = share
    tools = FakeTools()
    run(tools, params(root))
    tools.calls = []
    result = run(tools, params(root))
    assert not result["changed"]
    assert [i["action"] for i in result["images"]] == ["unchanged", "unchanged"]
    assert tools.verbs() == ["inspect", "inspect", "inspect"]  # the base, fat, weights: labels only
    assert all(i["reference"] for i in result["images"])


def test_check_mode_builds_nothing(share):
    root, _manifest = share
    tools = FakeTools()
    result = run(tools, params(root), check_mode=True)
    assert result["changed"] and [i["action"] for i in result["images"]] == ["build", "build"]
    assert set(tools.verbs()) == {"inspect"} and len(tools.registry) == 1


def test_a_tampered_share_is_refused_before_any_command(share):
    root, _manifest = share
    path = os.path.join(root, "model-00001-of-00002.safetensors")
    with open(path, "r+b") as handle:
        handle.seek(10)
        handle.write(b"Z")
    tools = FakeTools()
    with pytest.raises(mi.ImageError) as err:
        run(tools, params(root))
    assert err.value.msg.startswith("weights_dir: 1 of 4 files of %s do not match the manifest: "
                                    "model-00001-of-00002.safetensors (sha256 differs)" % root)
    assert "nothing was built" in err.value.msg and err.value.details["bad_files"][0]["field"] == "sha256"
    assert tools.calls == []
    assert os.path.exists(os.path.join(root, wm.MARKER_NAME))  # the share is only read


def test_an_edited_manifest_or_a_missing_marker_is_refused(tmp_path):
    root = str(tmp_path / "m")
    make_share(root, marker=False)
    with pytest.raises(mi.ImageError, match="is not a complete share: .weights-complete is missing"):
        run(FakeTools(), params(root))
    root = str(tmp_path / "n")
    make_share(root)
    manifest_path = os.path.join(root, wm.MANIFEST_NAME)
    with open(manifest_path) as handle:
        data = json.load(handle)
    data["files"][0]["size"] += 1
    data["total_bytes"] += 1
    with open(manifest_path, "w") as handle:
        json.dump(data, handle)
    with pytest.raises(mi.ImageError, match="^weights_dir: manifest .* was edited after staging; nothing was built"):
        run(FakeTools(), params(root))
    with pytest.raises(mi.ImageError, match="has no manifest"):
        os.makedirs(str(tmp_path / "empty"))
        run(FakeTools(), params(str(tmp_path / "empty")))


def test_a_changed_recipe_rebuilds_only_that_image(share):
    root, _manifest = share
    tools = FakeTools()
    run(tools, params(root))
    tools.calls = []
    result = run(tools, params(root, fat_args=["--model", "/models/tiny"]))
    assert [(i["kind"], i["action"]) for i in result["images"]] == [("fat", "built"), ("weights", "unchanged")]
    assert "another recipe" in result["images"][0]["reason"]


def test_a_moved_base_tag_rebuilds_the_fat_image(share):
    root, _manifest = share
    tools = FakeTools()
    run(tools, params(root))
    tools.registry[BASE] = dict(tools.registry[BASE], digest="sha256:" + "d" * 64)
    result = run(tools, params(root))
    assert [i["action"] for i in result["images"]] == ["built", "unchanged"]
    assert result["images"][0]["base_from"].endswith("d" * 64)


def test_force_rebuilds_but_skips_a_push_of_the_same_bytes(share):
    root, _manifest = share
    tools = FakeTools()
    run(tools, params(root))
    tools.calls = []
    result = run(tools, params(root, force=True))
    assert [(i["action"], i["pushed"]) for i in result["images"]] == [("built", False), ("built", False)]
    assert "push" not in tools.verbs() and result["changed"]


def test_a_local_build_with_the_same_labels_is_pushed_without_building(share):
    root, _manifest = share
    tools = FakeTools()
    run(tools, params(root, keep_local=True, images=["weights"]))
    assert len(tools.local) == 1
    tools.registry = {BASE: tools.registry[BASE]}  # the push "was lost"
    tools.calls = []
    result = run(tools, params(root, keep_local=True, images=["weights"]))
    assert result["images"][0]["action"] == "reused" and result["images"][0]["pushed"]
    assert "build" not in tools.verbs()


def test_verify_before_build_hashes_only_when_building(share):
    root, _manifest = share
    seen = []

    def verifier(p, check_mode):
        seen.append((p["dest"], check_mode))
        return {"files": 4, "bytes_verified": 1, "seconds": 0.0, "extra_files": []}

    tools = FakeTools()
    run(tools, params(root, verify="before_build"), verifier=verifier)
    assert seen == [(root, True)]
    result = run(tools, params(root, verify="before_build"), verifier=verifier)
    assert len(seen) == 1 and result["verified"] is None and not result["changed"]
    run(tools, params(root), verifier=verifier)
    assert len(seen) == 2


def test_verifier_errors_become_image_errors(share):
    root, _manifest = share

    def verifier(p, check_mode):
        raise WeightsError("dest: something odd")

    with pytest.raises(mi.ImageError, match="^weights_dir: dest: something odd; nothing was built"):
        run(FakeTools(), params(root), verifier=verifier)


def test_a_base_missing_from_the_registry(share):
    root, _manifest = share
    with pytest.raises(mi.ImageError, match="^base_image: .* is not in the registry"):
        run(FakeTools(registry={}), params(root))
    result = run(FakeTools(registry={}), params(root, pin_base=False, images=["fat"]), check_mode=True)
    assert result["images"][0]["base_from"] == BASE


def test_registry_errors_are_not_taken_for_absence(share):
    root, _manifest = share
    tools = FakeTools()
    tools.fail["inspect"] = (1, "", "pinging container registry: unauthorized: authentication required")
    with pytest.raises(mi.ImageError, match="^reading .* from the registry failed .*unauthorized"):
        run(tools, params(root))


def test_build_failure_is_reported_with_the_command(share):
    root, _manifest = share
    tools = FakeTools()
    tools.fail["build"] = (125, "", "Error: no space left on device")
    with pytest.raises(mi.ImageError, match="^building .*tiny-vllm.* failed \\(podman exited with 125\\): Error: no space"):
        run(tools, params(root))


def test_the_share_restaged_during_the_build_fails_the_run(share):
    root, _manifest = share
    tools = FakeTools()
    real_call = tools.__call__

    def runner(argv, env):
        if len(argv) > 1 and argv[1] == "push":
            os.remove(os.path.join(root, wm.MARKER_NAME))
        return real_call(argv, env)

    with pytest.raises(mi.ImageError, match="^weights_dir: the share changed while the images were built"):
        mi.run(params(root, images=["weights"]), runner=runner)


def test_docker_command_lines(share):
    root, _manifest = share
    engine = mi.Engine(FakeTools(), "docker", "/usr/bin/docker", "/usr/bin/skopeo", tls_verify=False,
                       authfile="/root/.docker/config.json")
    argv = engine.build_argv(root, "/tmp/w", mi.parse_reference(REG + "/m/x:1", "f"), "oci", 0)
    assert argv == ["/usr/bin/docker", "build", "--file", "/tmp/w/Containerfile", "--tag", REG + "/m/x:1", root]
    assert engine._docker_env() == {"DOCKER_BUILDKIT": "1", "DOCKER_CONFIG": "/root/.docker"}
    assert engine._registry_flags("skopeo") == ["--tls-verify=false", "--authfile", "/root/.docker/config.json"]
    result = mi.run(params(root, runtime="docker", runtime_path="/usr/bin/docker", tls_verify=False),
                    check_mode=True, runner=FakeTools())
    assert any("docker takes TLS settings from its daemon" in w for w in result["warnings"])


def test_podman_registry_flags():
    engine = mi.Engine(None, "podman", "/usr/bin/podman", "skopeo", cert_dir="/etc/certs", authfile="/a.json")
    assert engine._registry_flags("podman") == ["--tls-verify=true", "--cert-dir", "/etc/certs", "--authfile",
                                                "/a.json"]
