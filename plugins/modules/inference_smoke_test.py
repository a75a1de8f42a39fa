#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
module: inference_smoke_test
short_description: Smoke-test an OpenAI-compatible inference endpoint (vLLM, NVIDIA NIM)
version_added: 0.1.0
description:
  - >-
    Checks that an OpenAI-compatible server such as vLLM or NVIDIA NIM serves the expected model and
    answers. C(GET /v1/models) must list O(model), then C(POST /v1/chat/completions) must return a
    non-empty answer.
  - >-
    With O(stream=true) the answer is read as server-sent events (C(data:) chunks ending with
    C(data: [DONE])) and the time to the first token is measured.
  - Returns the latency, the time to first token, the completion tokens and tokens per second (from
    the server's C(usage) when present, otherwise counted stream chunks), the served models and the
    answer.
  - While the endpoint warms up, that is connection refused or reset, no answer within
    O(request_timeout), HTTP 429, 502, 503 or 504, or an error message saying the model is loading or
    not ready, requests are retried with exponential back-off (0.5 s doubling to 5 s, C(Retry-After)
    honoured) until O(timeout) has passed on the monotonic clock; the module then fails saying what it
    last saw.
  - >-
    Any other error answer, for example C({"error": {...}}) or C({"object": "error", "message": ...})
    with a 4xx or 5xx status, fails at once with the server's message. TLS errors fail at once too.
  - Runs where the task runs, so the endpoint must be reachable from there, for example the jump box
    inside the VNet, or a host delegated to. Inside the cluster the module_utils file also runs on its
    own, without Ansible, as a Kubernetes Job.
  - Uses the Python standard library only; no extra dependency.
author:
  - airgap.aks_inference maintainers (@airgap)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The module only reads (a model list and one chat completion) and changes nothing, so in check
        mode it runs exactly as usual and returns the same results.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  base_url:
    description:
      - Root URL of the server, for example V(http://10.20.0.50:8000) for an internal load balancer, or
        V(http://vllm.inference.svc.cluster.local:8000) inside the cluster.
      - A trailing C(/v1) is accepted and ignored; a path prefix in front of it is kept.
    type: str
    required: true
  model:
    description:
      - The model id the server must list in C(GET /v1/models) and that the chat completion asks for,
        for example V(meta/llama-3.1-8b-instruct) (NIM) or the C(--served-model-name) of vLLM.
    type: str
    required: true
  prompt:
    description:
      - The user message of the chat completion.
      - >-
        Defaults to V(Reply with one short sentence: are you ready to serve requests?) when O(messages) is
        not set either.
      - Mutually exclusive with O(messages).
    type: str
  messages:
    description:
      - The full chat, a list of C(role)/C(content) dictionaries, instead of O(prompt).
      - Mutually exclusive with O(prompt).
    type: list
    elements: dict
  max_tokens:
    description:
      - The most tokens the answer may have. Keep it small; the answer only has to be non-empty.
      - Reasoning models may spend them all on reasoning; the module then fails and says so.
    type: int
    default: 32
  stream:
    description:
      - Ask for a streamed answer (server-sent events) and measure the time to the first token.
      - The request asks for C(stream_options.include_usage) so the server reports the token count;
        when it does not, the content chunks are counted instead.
    type: bool
    default: false
  timeout:
    description:
      - Overall deadline in seconds for the whole test, warm-up retries included.
      - Loading large weights from an NFS share can take many minutes; set it to cover that.
    type: float
    default: 600
  request_timeout:
    description:
      - Seconds to wait for each single answer (and between two chunks of a stream).
      - Never more than what is left of O(timeout).
    type: float
    default: 60
  validate_certs:
    description:
      - Validate the server's TLS certificate when O(base_url) is V(https://).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificates to trust for an V(https://) O(base_url), for example a private CA.
    type: path
  api_key:
    description:
      - >-
        Sent as C(Authorization: Bearer <api_key>), overriding that header in O(headers).
      - Optional; regulated deployments normally run the server without one (no secrets in the cluster).
      - Never logged or returned.
    type: str
  headers:
    description:
      - Extra HTTP headers to send with every request.
      - Put secrets in O(api_key), not here; header values are not hidden from logs.
    type: dict
  use_proxy:
    description:
      - Honour the C(http_proxy), C(https_proxy) and C(no_proxy) environment variables.
      - Set to V(false) when a proxy is configured on the host but the endpoint is private.
    type: bool
    default: true
notes:
  - Never reports C(changed).
  - The answer is returned up to its first 1000 characters.
seealso:
  - name: vLLM OpenAI-compatible server
    description: The API vLLM serves.
    link: https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
  - name: NVIDIA NIM for LLMs API reference
    description: The API NVIDIA NIM for LLMs serves.
    link: https://docs.nvidia.com/nim/large-language-models/latest/api-reference.html
"""

EXAMPLES = r"""
- name: Wait for the model to load, then ask it one question (from the jump box)
  airgap.aks_inference.inference_smoke_test:
    base_url: "http://{{ inference_service_ip }}:8000"
    model: meta/llama-3.1-8b-instruct
    timeout: 1200
  register: smoke

- name: Stream the answer and show the time to first token
  airgap.aks_inference.inference_smoke_test:
    base_url: https://llm.internal.example:8443/v1
    model: meta/llama-3.1-8b-instruct
    stream: true
    ca_path: /etc/pki/private-ca.pem
    messages:
      - role: system
        content: You are a terse assistant.
      - role: user
        content: Name one prime number.
  register: smoke

- name: Report the figures
  ansible.builtin.debug:
    msg: >-
      {{ smoke.completion_tokens }} tokens at {{ smoke.tokens_per_second }} tokens/s,
      first token after {{ smoke.time_to_first_token }} s

- name: A server that does require a key
  airgap.aks_inference.inference_smoke_test:
    base_url: http://10.20.0.50:8000
    model: llama-3.1-8b
    api_key: "{{ vault_inference_api_key }}"
"""

RETURN = r"""
base_url:
  description: The root URL the requests went to (without C(/v1)).
  returned: success
  type: str
  sample: http://10.20.0.50:8000
model:
  description: The model that was checked.
  returned: success
  type: str
  sample: meta/llama-3.1-8b-instruct
models:
  description:
    - The model ids C(GET /v1/models) listed.
    - Also returned when the module fails because O(model) is not among them.
  returned: success or when the model is not served
  type: list
  elements: str
  sample: [meta/llama-3.1-8b-instruct]
stream:
  description: Whether the answer was streamed.
  returned: success
  type: bool
  sample: true
answer:
  description: The answer text, up to its first 1000 characters.
  returned: success
  type: str
  sample: Yes, I am ready to serve requests.
answer_truncated:
  description: Whether RV(answer) was cut.
  returned: success
  type: bool
  sample: false
finish_reason:
  description: Why the generation stopped, as the server said (V(stop), V(length), ...).
  returned: success
  type: str
  sample: stop
latency:
  description: Seconds from sending the chat completion to having the whole answer.
  returned: success
  type: float
  sample: 0.412
time_to_first_token:
  description: Seconds from sending the chat completion to the first non-empty chunk; V(null) unless streaming.
  returned: success
  type: float
  sample: 0.087
prompt_tokens:
  description: Prompt tokens from the server's C(usage); V(null) when it reported none.
  returned: success
  type: int
  sample: 24
completion_tokens:
  description:
    - Tokens of the answer, from the server's C(usage), or the number of content chunks of a stream when
      the server reported no usage (see RV(token_count_source)); V(null) when unknown.
  returned: success
  type: int
  sample: 11
tokens_per_second:
  description:
    - RV(completion_tokens) divided by the generation time, that is RV(latency), or for a stream
      RV(latency) minus RV(time_to_first_token); V(null) when unknown.
  returned: success
  type: float
  sample: 84.21
token_count_source:
  description: Where RV(completion_tokens) comes from, V(usage) or V(chunks); V(null) when unknown.
  returned: success
  type: str
  sample: usage
attempts:
  description: Requests sent, warm-up retries included.
  returned: when at least one request was sent
  type: int
  sample: 7
ready_after:
  description: Seconds from the start until C(GET /v1/models) answered, that is the warm-up seen.
  returned: success
  type: float
  sample: 12.5
last_seen:
  description: What the last warm-up retry saw, when the module fails at the deadline.
  returned: failure at the deadline
  type: str
  sample: "GET /v1/models answered HTTP 503: Model is still loading"
status:
  description: The HTTP status of an error answer that failed the module.
  returned: failure on an error answer
  type: int
  sample: 400
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.airgap.aks_inference.plugins.module_utils.openai_smoke import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TIMEOUT,
    Options,
    SmokeTestError,
    run,
)

ARGUMENT_SPEC = dict(
    base_url=dict(type="str", required=True),
    model=dict(type="str", required=True),
    prompt=dict(type="str"),
    messages=dict(type="list", elements="dict"),
    max_tokens=dict(type="int", default=DEFAULT_MAX_TOKENS, no_log=False),
    stream=dict(type="bool", default=False),
    timeout=dict(type="float", default=DEFAULT_TIMEOUT),
    request_timeout=dict(type="float", default=DEFAULT_REQUEST_TIMEOUT),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    api_key=dict(type="str", no_log=True),
    headers=dict(type="dict"),
    use_proxy=dict(type="bool", default=True),
)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("prompt", "messages")],
        supports_check_mode=True,
    )
    try:
        result = run(Options.from_params(module.params))
    except SmokeTestError as err:
        module.fail_json(msg=str(err), **err.details)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
