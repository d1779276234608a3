"""No path from the CI role to administrator, evaluated on the SYNTHESIZED policies of the CI access stack.

Each link of the escalation chain (create a role and attach AdministratorAccess; put an inline ``*:*``
policy on an existing role; pass a role; remove or replace the boundary) is a request evaluated by
``tests.iam_eval`` against the CloudFormation execution policy (what a template deployed through the
CI role may make CloudFormation do), the CI role's policy, and the permissions boundary. The second half
deploys the example configs under the boundary: every role and policy lands where the execution policy
allows, and every action the kit's roles are granted is inside the boundary.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sagemaker_openai.constructs.ci_access import KIT_IAM_PATH, ROLE_WRITE_ACTIONS
from sagemaker_openai.naming.tags import KIT_TAG
from tests.conftest import (
    COMMERCIAL,
    CONFIG_DIR,
    Synthesized,
    cdk_json_context,
    cloudformation_values,
    load_yaml,
    resolve,
)
from tests.iam_eval import Decision, Request, decide

ACCOUNT = COMMERCIAL.account
IAM = f"arn:aws:iam::{ACCOUNT}"
KIT_ROLE = f"{IAM}:role{KIT_IAM_PATH}app-InvokerRole-ABC"
KIT_POLICY = f"{IAM}:policy{KIT_IAM_PATH}app-Policy-ABC"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
OPS_ADMIN_ROLE = f"{IAM}:role/ops-admin"
CFN_EXEC_ROLE = f"{IAM}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1"
STAR = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
WEIGHTS_BUCKET = "my-bucket"  # the bucket of config/qwen3-4b-production.yaml's s3_uri
CONFIGS = (
    "qwen3-4b.yaml",
    "qwen3-4b-production.yaml",
    "qwen3-4b-scale-to-zero.yaml",
    "two-models-g6-12xlarge.yaml",
)


def _resolved(value: Any, values: dict[str, str], mappings: dict[str, Any]) -> Any:
    """A policy document with every intrinsic rendered as CloudFormation would for the stand-in values."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::FindInMap"):
            return resolve(value, values, mappings)
        return {k: _resolved(v, values, mappings) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, values, mappings) for v in value]
    return value


class _StandIns(dict[str, str]):
    """A resource ID nobody reads further (a subnet's, a security group's) stands in as its logical ID."""

    def __missing__(self, key: str) -> str:
        return key.split(".", maxsplit=1)[0].lower()


def _values(s: Synthesized) -> dict[str, str]:
    """Stand-ins for every Ref and Fn::GetAtt, with roles and managed policies at their IAM path."""
    values = _StandIns(cloudformation_values(s, COMMERCIAL))
    values["AWS::StackId"] = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{s.stack_name}/guid"
    for logical_id, resource in s.template["Resources"].items():
        path = resource.get("Properties", {}).get("Path", "/")
        generated = f"{s.stack_name}-{logical_id}-ABCDEF123456"
        if resource["Type"] == "AWS::IAM::Role":
            values[f"{logical_id}.Arn"] = f"{IAM}:role{path}{generated}"
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            values[logical_id] = f"{IAM}:policy{path}{generated}"
        elif resource["Type"] == "AWS::KMS::Key":
            values[f"{logical_id}.Arn"] = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{logical_id}"
        elif resource["Type"] == "AWS::CloudWatch::Alarm":
            values[f"{logical_id}.Arn"] = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{generated}"
        elif resource["Type"] == "AWS::SQS::Queue":
            values[f"{logical_id}.Arn"] = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{generated}"
    return values


@dataclass(frozen=True)
class Access:
    """The access stack's three policies, resolved, and the boundary's ARN."""

    template: dict[str, Any]
    boundary_logical_id: str
    boundary_arn: str
    execution: list[dict[str, Any]]
    ci: list[dict[str, Any]]
    boundary: list[dict[str, Any]]
    ci_role_arn: str


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory) -> Access:
    from tests.unit.constructs.test_ci_access_stack import statements_of, synth_access

    s = synth_access(
        tmp_path_factory.mktemp("cdk.out"), {"github_repo": "acme/llm-app", "weights_buckets": WEIGHTS_BUCKET}
    )
    values = _values(s)
    mappings = s.template.get("Mappings", {})

    def statements(prefix: str) -> list[dict[str, Any]]:
        resolved: list[dict[str, Any]] = _resolved(statements_of(s, prefix), values, mappings)
        return resolved

    boundary_id, _ = s.described("AWS::IAM::ManagedPolicy", "Permissions boundary")
    (role_id,) = s.resources("AWS::IAM::Role")
    return Access(
        template=s.template,
        boundary_logical_id=boundary_id,
        boundary_arn=values[boundary_id],
        execution=statements("CloudFormation execution policy"),
        ci=statements("CI for sagemaker-openai"),
        boundary=statements("Permissions boundary"),
        ci_role_arn=values[f"{role_id}.Arn"],
    )


def _cfn(access: Access, action: str, resource: str, **context: Any) -> Decision:
    """What CloudFormation, acting with the bootstrap's execution role, may do for a template."""
    return decide(access.execution, Request(action, resource, context))


def _tagged(**context: Any) -> dict[str, Any]:
    return {f"aws:RequestTag/{KIT_TAG}": "app", **context}


# -- Link 1: create a role and attach AdministratorAccess -------------------------------------------------


def test_creating_a_role_needs_the_boundary_the_kit_path_and_the_kit_tag(access: Access) -> None:
    b = access.boundary_arn
    refused = {
        "no boundary": _cfn(access, "iam:CreateRole", KIT_ROLE, **_tagged()),
        "another boundary": _cfn(
            access, "iam:CreateRole", KIT_ROLE, **_tagged(**{"iam:PermissionsBoundary": ADMIN_POLICY})
        ),
        "outside the kit path": _cfn(
            access, "iam:CreateRole", f"{IAM}:role/evil", **_tagged(**{"iam:PermissionsBoundary": b})
        ),
        "without the kit tag": _cfn(access, "iam:CreateRole", KIT_ROLE, **{"iam:PermissionsBoundary": b}),
    }
    assert {k: v for k, v in refused.items() if v is Decision.ALLOW} == {}
    assert (
        _cfn(access, "iam:CreateRole", KIT_ROLE, **_tagged(**{"iam:PermissionsBoundary": b}))
        is Decision.ALLOW
    )


def test_administrator_access_cannot_be_attached_to_any_role(access: Access) -> None:
    b = access.boundary_arn
    for role, boundary in (
        (KIT_ROLE, b),
        (KIT_ROLE, None),
        (OPS_ADMIN_ROLE, None),
        (access.ci_role_arn, None),
    ):
        context = {"iam:PolicyARN": ADMIN_POLICY} | (
            {"iam:PermissionsBoundary": boundary} if boundary else {}
        )
        assert _cfn(access, "iam:AttachRolePolicy", role, **context) is not Decision.ALLOW, role
    assert (
        _cfn(
            access,
            "iam:AttachRolePolicy",
            KIT_ROLE,
            **{"iam:PolicyARN": KIT_POLICY, "iam:PermissionsBoundary": b},
        )
        is Decision.ALLOW
    )


def test_a_kit_role_holding_star_is_still_held_by_the_boundary(access: Access) -> None:
    """The worst a template can make: a kit-path role with the boundary and a ``*:*`` kit policy."""
    refused = [
        Request("iam:CreateRole", f"{IAM}:role/evil"),
        Request("iam:AttachRolePolicy", OPS_ADMIN_ROLE, {"iam:PolicyARN": ADMIN_POLICY}),
        Request("iam:PutRolePolicy", OPS_ADMIN_ROLE),
        Request("iam:CreateUser", f"{IAM}:user/evil"),
        Request("iam:CreateAccessKey", f"{IAM}:user/admin"),
        Request("iam:PassRole", OPS_ADMIN_ROLE, {"iam:PassedToService": "ec2.amazonaws.com"}),
        Request("sts:AssumeRole", OPS_ADMIN_ROLE),
        Request("sts:AssumeRole", CFN_EXEC_ROLE),
        Request("s3:GetObject", "arn:aws:s3:::payroll/2026.csv"),
        Request("s3:PutObject", f"arn:aws:s3:::{WEIGHTS_BUCKET}/x"),
        Request("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"),
        Request("ec2:RunInstances", f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"),
        Request("cloudformation:DeleteStack", f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/prod/x"),
        Request("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db"),
        Request("lambda:CreateFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:x"),
    ]
    allowed = [r for r in refused if decide(STAR, r, boundary=access.boundary) is Decision.ALLOW]
    assert allowed == []


# -- Link 2: an inline *:* policy on an existing role ------------------------------------------------------


def test_no_inline_policy_on_a_role_without_the_kit_boundary(access: Access) -> None:
    for role in (OPS_ADMIN_ROLE, CFN_EXEC_ROLE, access.ci_role_arn, KIT_ROLE):
        assert _cfn(access, "iam:PutRolePolicy", role) is not Decision.ALLOW, role
        other = {"iam:PermissionsBoundary": ADMIN_POLICY}
        assert _cfn(access, "iam:PutRolePolicy", role, **other) is not Decision.ALLOW, role
    assert _cfn(
        access, "iam:PutRolePolicy", KIT_ROLE, **{"iam:PermissionsBoundary": access.boundary_arn}
    ) is (Decision.ALLOW)


def test_no_trust_policy_change_outside_the_kits_bounded_roles(access: Access) -> None:
    for role in (OPS_ADMIN_ROLE, access.ci_role_arn):
        context = {"iam:PermissionsBoundary": access.boundary_arn}
        assert _cfn(access, "iam:UpdateAssumeRolePolicy", role, **context) is not Decision.ALLOW
    assert _cfn(access, "iam:UpdateAssumeRolePolicy", KIT_ROLE) is not Decision.ALLOW


def test_the_policies_of_the_access_stack_cannot_be_rewritten(access: Access) -> None:
    for logical_id, resource in access.template["Resources"].items():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        arn = f"{IAM}:policy/sagemaker-openai-ci-access-acme-llm-app-{logical_id}-ABCDEF123456"
        for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
            assert _cfn(access, action, arn) is not Decision.ALLOW, (logical_id, action)


# -- Link 3: pass a role ------------------------------------------------------------------------------------


def test_only_tagged_kit_roles_are_passed_and_only_to_the_kits_services(access: Access) -> None:
    tag = {f"iam:ResourceTag/{KIT_TAG}": "app"}
    for role, service, context in (
        (OPS_ADMIN_ROLE, "sagemaker.amazonaws.com", tag),
        (CFN_EXEC_ROLE, "sagemaker.amazonaws.com", {}),
        (KIT_ROLE, "sagemaker.amazonaws.com", {}),
        (KIT_ROLE, "ec2.amazonaws.com", tag),
        (KIT_ROLE, "lambda.amazonaws.com", tag),
        (KIT_ROLE, "cloudformation.amazonaws.com", tag),
    ):
        assert _cfn(access, "iam:PassRole", role, **context, **{"iam:PassedToService": service}) is not (
            Decision.ALLOW
        ), (role, service)
    for service in ("sagemaker.amazonaws.com", "scheduler.amazonaws.com", "vpc-flow-logs.amazonaws.com"):
        assert (
            _cfn(access, "iam:PassRole", KIT_ROLE, **tag, **{"iam:PassedToService": service})
            is Decision.ALLOW
        )


def test_the_ci_role_assumes_only_tagged_roles_under_the_kit_path(access: Access) -> None:
    tag = {f"iam:ResourceTag/{KIT_TAG}": "app"}
    ci = access.ci
    assert decide(ci, Request("sts:AssumeRole", KIT_ROLE, tag)) is Decision.ALLOW
    for role in (OPS_ADMIN_ROLE, CFN_EXEC_ROLE, f"{IAM}:role/tagged-but-elsewhere"):
        assert decide(ci, Request("sts:AssumeRole", role, tag)) is not Decision.ALLOW, role
    assert decide(ci, Request("sts:AssumeRole", KIT_ROLE)) is not Decision.ALLOW
    for action in ("iam:CreateRole", "iam:PassRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        assert decide(ci, Request(action, KIT_ROLE, tag)) is not Decision.ALLOW, action


# -- Link 4: remove or replace the boundary -----------------------------------------------------------------


def test_the_boundary_can_be_neither_removed_nor_replaced_nor_edited(access: Access) -> None:
    b = access.boundary_arn
    on_kit_role = {"iam:PermissionsBoundary": b}
    assert (
        _cfn(access, "iam:DeleteRolePermissionsBoundary", KIT_ROLE, **on_kit_role) is Decision.EXPLICIT_DENY
    )
    for other in (ADMIN_POLICY, KIT_POLICY):
        context = {"iam:PermissionsBoundary": other}
        assert _cfn(access, "iam:PutRolePermissionsBoundary", KIT_ROLE, **context) is not Decision.ALLOW
    for action in (
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
    ):
        assert _cfn(access, action, b) is Decision.EXPLICIT_DENY, action
    untag = {"aws:TagKeys": [KIT_TAG]}
    assert _cfn(access, "iam:UntagRole", KIT_ROLE, **untag) is Decision.EXPLICIT_DENY
    # The boundary's own path is outside the kit path, so no kit-path policy write reaches it either.
    assert KIT_IAM_PATH not in b


def test_every_allow_of_a_role_writing_action_carries_the_boundary_condition(access: Access) -> None:
    boundary_ref = {"Ref": access.boundary_logical_id}
    checked = set()
    for resource in access.template["Resources"].values():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            writing = [a for a in actions if a in ROLE_WRITE_ACTIONS or a.endswith("*")]
            if statement["Effect"] != "Allow" or not writing:
                continue
            assert statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == boundary_ref, (
                statement
            )
            checked |= set(writing)
    assert checked == set(ROLE_WRITE_ACTIONS)


# -- The kit's own stacks under the boundary -----------------------------------------------------------------


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory, access: Access) -> dict[str, Synthesized]:
    """The example configs synthesized with ``-c permissions_boundary`` (and an expiry: its role too)."""
    import aws_cdk as cdk

    from sagemaker_openai.config import parse_config
    from stacks import build_app

    synthesized: dict[str, Synthesized] = {}
    for name in CONFIGS:
        outdir = tmp_path_factory.mktemp("cdk.out")
        config = parse_config(load_yaml(CONFIG_DIR / name))
        context = cdk_json_context() | {"permissions_boundary": access.boundary_arn}
        app = build_app(
            config,
            app=cdk.App(outdir=str(outdir), context=context),
            expires_at=datetime.now(UTC) + timedelta(hours=2),
        )
        template = app.synth().get_stack_by_name(config.name).template
        report = json.loads((Path(outdir) / "validation-report.json").read_text())
        synthesized[name] = Synthesized(
            template=template, report=report, outdir=outdir, stack_name=config.name
        )
    return synthesized


def _roles_and_policies(s: Synthesized) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """Each role, with the resolved statements of every managed policy attached to it."""
    values = _values(s)
    mappings = s.template.get("Mappings", {})
    resources = s.template["Resources"]
    for role_id, role in resources.items():
        if role["Type"] != "AWS::IAM::Role":
            continue
        attached = {ref["Ref"] for ref in role["Properties"].get("ManagedPolicyArns", [])}
        attached |= {
            policy_id
            for policy_id, policy in resources.items()
            if policy["Type"] == "AWS::IAM::ManagedPolicy"
            and {"Ref": role_id} in policy["Properties"].get("Roles", [])
        }
        statements = [
            st
            for policy_id in sorted(attached)
            for st in _resolved(
                resources[policy_id]["Properties"]["PolicyDocument"]["Statement"], values, mappings
            )
        ]
        yield role_id, role, statements


def _context_of(statement: dict[str, Any], stack_name: str) -> dict[str, Any]:
    """The request context a call the statement allows carries: its own condition values, and the kit's
    tag on the resource (every stack of the kit tags itself and its resources)."""
    context: dict[str, Any] = {f"aws:ResourceTag/{KIT_TAG}": stack_name}
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            first = expected[0] if isinstance(expected, list) else expected
            context[key] = "present" if operator == "Null" else first
    return context


@pytest.mark.parametrize("config", CONFIGS)
def test_every_role_and_policy_lands_where_the_execution_policy_allows(
    bounded: dict[str, Synthesized], access: Access, config: str
) -> None:
    s = bounded[config]
    values = _values(s)
    resources = s.template["Resources"]
    roles = 0
    for role_id, role, _ in _roles_and_policies(s):
        roles += 1
        props = role["Properties"]
        assert props["PermissionsBoundary"] == access.boundary_arn, role_id
        assert props["Path"] == KIT_IAM_PATH, role_id
        arn = values[f"{role_id}.Arn"]
        tags = {t["Key"]: t["Value"] for t in props["Tags"]}
        create = {"iam:PermissionsBoundary": access.boundary_arn, f"aws:RequestTag/{KIT_TAG}": tags[KIT_TAG]}
        assert _cfn(access, "iam:CreateRole", arn, **create) is Decision.ALLOW, role_id
        for ref in props.get("ManagedPolicyArns", []):
            policy = values[ref["Ref"]]
            attach = {"iam:PermissionsBoundary": access.boundary_arn, "iam:PolicyARN": policy}
            assert _cfn(access, "iam:AttachRolePolicy", arn, **attach) is Decision.ALLOW, (role_id, policy)
            assert _cfn(access, "iam:DetachRolePolicy", arn, **attach) is Decision.ALLOW, (role_id, policy)
        assert _cfn(access, "iam:DeleteRole", arn) is Decision.ALLOW, role_id
        for principal in props["AssumeRolePolicyDocument"]["Statement"]:
            service = principal["Principal"].get("Service")
            if service:
                passed = {"iam:PassedToService": service, f"iam:ResourceTag/{KIT_TAG}": tags[KIT_TAG]}
                assert _cfn(access, "iam:PassRole", arn, **passed) is Decision.ALLOW, (role_id, service)
    assert roles >= 2
    for policy_id, policy in resources.items():
        if policy["Type"] == "AWS::IAM::ManagedPolicy":
            assert policy["Properties"]["Path"] == KIT_IAM_PATH, policy_id
            for action in ("iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy"):
                assert _cfn(access, action, values[policy_id]) is Decision.ALLOW, (policy_id, action)


@pytest.mark.parametrize("config", CONFIGS)
def test_every_action_the_kits_roles_are_granted_is_inside_the_boundary(
    bounded: dict[str, Synthesized], access: Access, config: str
) -> None:
    s = bounded[config]
    outside = []
    checked = 0
    for role_id, _, statements in _roles_and_policies(s):
        for statement in statements:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in actions:
                for resource in targets:
                    checked += 1
                    request = Request(action, resource, _context_of(statement, s.stack_name))
                    if decide(statements, request, boundary=access.boundary) is not Decision.ALLOW:
                        outside.append((role_id, action, resource))
    assert outside == []
    assert checked >= 10


def test_every_managed_policy_fits_iams_size_quota(tmp_path: Path) -> None:
    """IAM refuses a managed policy over 6,144 characters (whitespace not counted): hence two execution
    policy parts. Checked with two weights buckets and the longest partition ARNs (aws-us-gov)."""
    from tests.unit.constructs.test_ci_access_stack import synth_access

    s = synth_access(tmp_path, {"github_repo": "acme/llm-app", "weights_buckets": "my-models,team-weights"})
    values = _values(s)
    values["AWS::Partition"] = "aws-us-gov"
    values["AWS::Region"] = "us-gov-west-1"
    sizes = {
        logical_id: len(
            json.dumps(
                _resolved(r["Properties"]["PolicyDocument"], values, s.template.get("Mappings", {})),
                separators=(",", ":"),
            )
        )
        for logical_id, r in s.resources("AWS::IAM::ManagedPolicy").items()
    }
    assert len(sizes) == 4
    assert max(sizes.values()) <= 6144, sizes
