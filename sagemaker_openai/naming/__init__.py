"""Physical names derived from the stack name, and the logical IDs derived from model keys.

SageMaker endpoint and inference-component names share one rule: at most 63 characters of
letters, digits and hyphens, starting and ending with a letter or digit. SageMaker lowercases them
in ARNs, so every name the kit derives is lowercase and the ARN matches what IAM evaluates.
"""

import hashlib
import re

SAGEMAKER_NAME_MAX = 63
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
# A CloudFormation stack name starts with a letter; a SageMaker name cannot end with a hyphen.
# The stack name is also the endpoint name, so it must satisfy both.
STACK_NAME = re.compile(r"^[a-zA-Z](-*[a-zA-Z0-9])*$")
STACK_NAME_MAX = SAGEMAKER_NAME_MAX
MODEL_KEY = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
MODEL_KEY_MAX = SAGEMAKER_NAME_MAX
_HASH_LEN = 8


def endpoint_name(stack_name: str) -> str:
    return stack_name.lower()


def inference_component_name(stack_name: str, model_key: str) -> str:
    """``<stack>-<key>`` in lowercase, cut to fit 63 characters with a short hash of the full name."""
    full = f"{stack_name}-{model_key}".lower()
    if len(full) <= SAGEMAKER_NAME_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LEN]
    head = full[: SAGEMAKER_NAME_MAX - _HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"


def error_rate_alarm_name(endpoint_or_component: str) -> str:
    """The 5xx error-rate alarm of an endpoint or component: the monitoring construct creates it, and the
    pre-flight judges a named topic's policy for it."""
    return f"{endpoint_or_component}-5xx-error-rate"


def logical_id_suffix(model_key: str) -> str:
    """The model key in PascalCase alphanumerics: ``qwen3-4b`` becomes ``Qwen34b``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^a-zA-Z0-9]+", model_key) if part)
