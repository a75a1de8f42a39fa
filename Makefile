# airgap.aks_inference — the two commands of README.md, and their parts.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: site test bootstrap emulator unit integration molecule sanity lint build benchmark clean

## The main job on the local default: ARM emulator on 127.0.0.1, then playbooks/site.yml.
site:
	bash hack/site-local.sh

## The whole test suite, as CI runs it.
test:
	bash hack/test.sh

bootstrap:
	bash hack/bootstrap.sh

## Keep an emulator running in the foreground (for exploring with ansible-playbook by hand).
emulator: bootstrap
	PYTHONPATH=tests/emulator $(VENV)/bin/python -m armemu --workdir .emulator --port 8443 --time-scale 0.01

unit: bootstrap
	$(VENV)/bin/pytest -q tests/unit

integration: bootstrap
	$(VENV)/bin/pytest -q tests/integration

molecule: bootstrap
	bash hack/molecule.sh

sanity: bootstrap
	bash hack/sanity.sh

lint: bootstrap
	$(VENV)/bin/ansible-lint --profile production

build: bootstrap
	bash hack/build.sh

benchmark: bootstrap
	$(VENV)/bin/python benchmarks/network.py

clean:
	rm -rf .emulator .pytest_cache airgap-aks_inference-*.tar.gz
