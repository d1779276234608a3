"""The kit's own cdk-nag pack: what a SageMaker OpenAI-compatible endpoint must get right.

Run beside AwsSolutions, NIST 800-53 R5 and HIPAA Security (``stacks.add_nag_packs``); a finding fails
the synth and is acknowledged like theirs (``SageMakerOpenAI::SageMakerOpenAI-<Rule>``).
"""

import re
from collections.abc import Callable, Iterable
from typing import Any, cast

import jsii
from aws_cdk import CfnResource, Stack
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

from sagemaker_openai.config.secret_names import holds_no_secret, is_secret_name
from sagemaker_openai.constructs._nag import KIT

PACK = KIT
RuleFunction = Callable[[CfnResource], NagRuleCompliance]

# Shapes of well-known credentials: Hugging Face, AWS access key IDs, OpenAI-style and GitHub tokens.
_SECRET_VALUE = re.compile(
    r"^(hf_[A-Za-z0-9]{30,}|(AKIA|ASIA)[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,})$"
)
_INVOKE_ACTION = re.compile(r"^sagemaker:(invoke[a-z]*|\*)$|^\*$", re.IGNORECASE)
_INVOKE_TARGET_ATTRIBUTES = {"EndpointArn", "InferenceComponentArn"}
_INVOKE_TARGET_ARN = re.compile(r":sagemaker:[^:]*:[^:]*:(endpoint|inference-component)/[^*]+$")
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
COMPONENT_LOG_GROUP_PREFIX = "/aws/sagemaker/InferenceComponents/"


def properties(node: CfnResource) -> dict[str, Any]:
    """The resource's properties as its L1 holds them (camelCase keys), with tokens resolved."""
    resolved: dict[str, Any] = Stack.of(node).resolve(node._cfn_properties) or {}
    return resolved


def secret_in_environment(node: CfnResource) -> NagRuleCompliance:
    """A model or component container environment holds a secret-looking name or value."""
    props = properties(node)
    if node.cfn_resource_type == "AWS::SageMaker::Model":
        containers = [props.get("primaryContainer") or {}, *(props.get("containers") or [])]
    elif node.cfn_resource_type == "AWS::SageMaker::InferenceComponent":
        containers = [(props.get("specification") or {}).get("container") or {}]
    else:
        return NagRuleCompliance.NOT_APPLICABLE
    for container in containers:
        for name, value in (container.get("environment") or {}).items():
            if is_secret_name(name) and not holds_no_secret(value):
                return NagRuleCompliance.NON_COMPLIANT
            if isinstance(value, str) and _SECRET_VALUE.match(value):
                return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _statements(node: CfnResource) -> Iterable[dict[str, Any]]:
    props = properties(node)
    documents = [props.get("policyDocument")]
    documents += [policy.get("policyDocument") for policy in props.get("policies") or []]
    for document in documents:
        if isinstance(document, dict):
            statements = document.get("Statement") or []
            yield from statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _invoke_target(resource: Any) -> bool:
    """An endpoint or component ARN: a GetAtt of one, or a literal or joined ARN without wildcard."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][1]) in _INVOKE_TARGET_ATTRIBUTES
    if isinstance(resource, dict) and "Fn::Join" in resource:
        resource = "".join(part if isinstance(part, str) else "<token>" for part in resource["Fn::Join"][1])
    return isinstance(resource, str) and bool(_INVOKE_TARGET_ARN.search(resource))


def invoker_scoped_to_endpoints(node: CfnResource) -> NagRuleCompliance:
    """An IAM policy allows an invoke action on something other than endpoint or component ARNs."""
    if node.cfn_resource_type not in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::Role"}:
        return NagRuleCompliance.NOT_APPLICABLE
    for statement in _statements(node):
        if statement.get("Effect") != "Allow" or "NotResource" in statement:
            continue
        actions = [a for a in _as_list(statement.get("Action") or []) if isinstance(a, str)]
        if any(_INVOKE_ACTION.match(action) for action in actions) and not all(
            _invoke_target(resource) for resource in _as_list(statement.get("Resource") or [])
        ):
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def component_endpoint_config(node: CfnResource) -> NagRuleCompliance:
    """An endpoint config for inference components must name an execution role and no model.

    A config is for components when its variants name no model or when it has an execution role
    (which CreateEndpointConfig takes only for components); anything in between fails at deploy.
    """
    if node.cfn_resource_type != "AWS::SageMaker::EndpointConfig":
        return NagRuleCompliance.NOT_APPLICABLE
    props = properties(node)
    variants = props.get("productionVariants") or []
    with_model = [variant for variant in variants if variant.get("modelName")]
    role = props.get("executionRoleArn")
    if not role and len(with_model) == len(variants):
        return NagRuleCompliance.NOT_APPLICABLE
    return NagRuleCompliance.COMPLIANT if role and not with_model else NagRuleCompliance.NON_COMPLIANT


def network_isolation_for_s3_weights(node: CfnResource) -> NagRuleCompliance:
    """A model whose weights come from S3 must run with network isolation: it needs no network."""
    if node.cfn_resource_type != "AWS::SageMaker::Model":
        return NagRuleCompliance.NOT_APPLICABLE
    props = properties(node)
    containers = [props.get("primaryContainer") or {}, *(props.get("containers") or [])]
    from_s3 = any(c.get("modelDataSource") or c.get("modelDataUrl") for c in containers)
    if not from_s3:
        return NagRuleCompliance.NOT_APPLICABLE
    return (
        NagRuleCompliance.COMPLIANT
        if props.get("enableNetworkIsolation") is True
        else NagRuleCompliance.NON_COMPLIANT
    )


def _log_groups_with_retention(stack: Stack) -> set[str]:
    names = set()
    for child in stack.node.find_all():
        if isinstance(child, CfnResource) and child.cfn_resource_type == "AWS::Logs::LogGroup":
            props = properties(child)
            if isinstance(props.get("logGroupName"), str) and props.get("retentionInDays"):
                names.add(props["logGroupName"])
    return names


def log_group_with_retention(node: CfnResource) -> NagRuleCompliance:
    """Every endpoint and component has its log group in the stack, with a retention period.

    Otherwise SageMaker creates the group at first start, outside the stack, kept forever.
    """
    props = properties(node)
    if node.cfn_resource_type == "AWS::SageMaker::Endpoint":
        name = props.get("endpointName")
        prefix = ENDPOINT_LOG_GROUP_PREFIX
    elif node.cfn_resource_type == "AWS::SageMaker::InferenceComponent":
        name = props.get("inferenceComponentName")
        prefix = COMPONENT_LOG_GROUP_PREFIX
    else:
        return NagRuleCompliance.NOT_APPLICABLE
    if not isinstance(name, str):
        return NagRuleCompliance.NON_COMPLIANT  # a generated name cannot be matched to a log group
    return (
        NagRuleCompliance.COMPLIANT
        if f"{prefix}{name}" in _log_groups_with_retention(Stack.of(node))
        else NagRuleCompliance.NON_COMPLIANT
    )


MODEL = "AWS::SageMaker::Model"
COMPONENT = "AWS::SageMaker::InferenceComponent"
POLICIES = frozenset({"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::Role"})
# The resource types each rule looks at; the pack skips the others without a call into the rule.
RULE_TYPES: dict[str, frozenset[str]] = {
    "SecretInEnvironment": frozenset({MODEL, COMPONENT}),
    "InvokerScopedToEndpoints": POLICIES,
    "ComponentEndpointConfig": frozenset({"AWS::SageMaker::EndpointConfig"}),
    "NetworkIsolationForS3Weights": frozenset({MODEL}),
    "LogGroupRetention": frozenset({"AWS::SageMaker::Endpoint", COMPONENT}),
}
RULES: dict[str, tuple[RuleFunction, str, str]] = {
    "SecretInEnvironment": (
        secret_in_environment,
        "A model's container environment holds a secret-looking name or value.",
        "The environment is stored in plain text in the template, the model and DescribeModel; stage "
        "gated weights with `sagemaker-openai stage-weights` and keep secrets in Secrets Manager.",
    ),
    "InvokerScopedToEndpoints": (
        invoker_scoped_to_endpoints,
        "An IAM policy allows a SageMaker invoke action on resources other than endpoint or component ARNs.",
        "Callers holding bearer tokens should reach only the endpoints and components they are meant to.",
    ),
    "ComponentEndpointConfig": (
        component_endpoint_config,
        "An inference-component endpoint config must have an execution role and variants without a model.",
        "CreateEndpointConfig requires ExecutionRoleArn when no variant names a model, and components "
        "cannot be added to an endpoint whose variant serves a model.",
    ),
    "NetworkIsolationForS3Weights": (
        network_isolation_for_s3_weights,
        "A model that loads its weights from S3 runs without network isolation.",
        "SageMaker copies S3 weights to the instance before start, so the container needs no network.",
    ),
    "LogGroupRetention": (
        log_group_with_retention,
        "An endpoint or inference component has no log group with a retention period in the stack.",
        "SageMaker would create the group itself at first start, outside the stack and kept forever.",
    ),
}


@jsii.implements(IApplyRule)
class _Rule:
    """One rule applied to one resource (cdk-nag reads these members through jsii)."""

    def __init__(
        self, node: CfnResource, suffix: str, check: RuleFunction, info: str, explanation: str
    ) -> None:
        self._node, self._suffix, self._check, self._info, self._explanation = (
            node,
            suffix,
            check,
            info,
            explanation,
        )

    @property
    def node(self) -> CfnResource:
        return self._node

    @property
    def rule_suffix_override(self) -> str:
        return self._suffix

    @property
    def info(self) -> str:
        return self._info

    @property
    def explanation(self) -> str:
        return self._explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    def rule(self, node: CfnResource) -> NagRuleCompliance:
        return self._check(node)


class SageMakerOpenAIChecks(NagPack):
    """The kit's rules, as a cdk-nag v3 validation plugin: ``Validations.of(app).add_plugins(...)``."""

    def __init__(self, scope: Any = None) -> None:
        super().__init__(scope)
        self._pack_name = PACK

    @property
    def name(self) -> str:
        return PACK

    @jsii.member(jsii_name="checkResource")
    def _check_resource(self, node: CfnResource) -> None:
        resource_type = node.cfn_resource_type
        for suffix, (check, info, explanation) in RULES.items():
            if resource_type not in RULE_TYPES[suffix]:
                continue
            # _Rule implements IApplyRule for jsii with read-only members; the Protocol wants setters.
            self._apply_rule(cast(IApplyRule, _Rule(node, suffix, check, info, explanation)))
