"""The CI access stack: exact trust and permissions, the execution policy's coverage, every scanner clean."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagemaker_openai.constructs.ci_access import DENIED_ROLE_ACTIONS, WEIGHTS_READ_ACTIONS
from sagemaker_openai.errors import ConfigError
from sagemaker_openai.preflight.actions import LEFTOVERS_READ_ACTIONS, PREFLIGHT_READ_ACTIONS
from stacks.ci_access_stack import ci_access_props, ci_access_stack_name
from tests.conftest import (
    CONFIG_DIR,
    ROOT,
    Scans,
    Synthesized,
    cdk_json_context,
    load_yaml,
    resolve,
    synthesize_ci_access,
)

Synth = Callable[[dict[str, Any]], Synthesized]
REFS = {"AWS::Partition": "aws", "AWS::AccountId": "123456789012", "AWS::Region": "us-east-1"}
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
SCHEMAS = ROOT / ".venv/lib/python3.11/site-packages/cfnlint/data/schemas"
# Resource types the operations work adds (VPC, KMS, alarm topics, dashboards) beside those synthesized.
OPERATIONS_TYPES = {
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::VPCEndpoint",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Scheduler::Schedule",
    "AWS::SQS::Queue",  # the expiry's dead-letter queue
    "AWS::SQS::QueuePolicy",
}
# Handler permissions for features the kit does not use: log delivery to Firehose/S3, Lambda provisioned
# concurrency (a scalable-target kind), VPC Lattice service networks.
UNUSED_SERVICES = {"firehose", "s3", "lambda", "vpc-lattice", "vpce"}
UNUSED_ACTIONS = {
    "application-autoscaling:PutScheduledAction",
    "application-autoscaling:DeleteScheduledAction",
    "iam:AttachGroupPolicy",
    "iam:AttachUserPolicy",
    "iam:DetachGroupPolicy",
    "iam:DetachUserPolicy",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:PutBearerTokenAuthentication",
    "logs:PutDataProtectionPolicy",
    "logs:DeleteDataProtectionPolicy",
    "logs:PutIndexPolicy",
    "logs:DeleteIndexPolicy",
    "logs:PutResourcePolicy",
    "logs:DeleteResourcePolicy",
    "logs:PutLogGroupDeletionProtection",
}
# IAM service prefixes whose botocore model has another name.
BOTOCORE_NAMES = {"tag": "resourcegroupstaggingapi", "servicequotas": "service-quotas"}
# IAM actions whose API operation lives in another botocore service model than the prefix's.
SERVICE_OF_ACTION = {"sagemaker:InvokeEndpoint": "sagemaker-runtime"}
# Permissions only, no API operation: PassRole, and the bearer-token permission the OpenAI-compatible
# route checks (the boundary caps the invoker roles that hold it).
NOT_OPERATIONS = {"iam:PassRole", "sagemaker:CallWithBearerToken"}
# IAM actions whose API operation has another name (the service authorization reference maps them).
OPERATION_OF = {"s3:ListBucket": "s3:ListObjectsV2"}


def synth_access(outdir: Path, context: dict[str, Any]) -> Synthesized:
    return synthesize_ci_access(context, outdir)


@pytest.fixture
def access(ci_access: Synthesized) -> Synthesized:
    """The session's CI access stack for acme/llm-app (tests/conftest.py), scanned once with the others."""
    return ci_access


def statements_of(s: Synthesized, description_prefix: str) -> list[dict[str, Any]]:
    """The statements of every managed policy whose description starts with the prefix (the execution
    policy comes in two parts), in template order."""
    found = [
        statement
        for resource in s.resources("AWS::IAM::ManagedPolicy").values()
        if resource["Properties"]["Description"].startswith(description_prefix)
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert found, description_prefix
    return found


def _statements(s: Synthesized, description_prefix: str) -> list[dict[str, Any]]:
    """The policy's statements with intrinsics in Resource evaluated for account 123456789012, us-east-1."""

    refs = REFS | {
        logical_id: f"arn:aws:iam::123456789012:policy/{logical_id}"
        for logical_id, resource in s.template["Resources"].items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    }

    def evaluated(resource: Any) -> Any:
        return [resolve(r, refs) for r in resource] if isinstance(resource, list) else resolve(resource, refs)

    return [st | {"Resource": evaluated(st["Resource"])} for st in statements_of(s, description_prefix)]


def test_the_role_trusts_only_github_oidc_for_the_repository_branch(access: Synthesized) -> None:
    provider_id, provider = next(iter(access.resources("AWS::IAM::OIDCProvider").items()))
    assert provider["Properties"] == {
        "ClientIdList": ["sts.amazonaws.com"],
        "Url": "https://token.actions.githubusercontent.com",
    }
    role = access.one("AWS::IAM::Role")["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:acme/llm-app:ref:refs/heads/main",
                }
            },
            "Effect": "Allow",
            "Principal": {"Federated": {"Ref": provider_id}},
        }
    ]
    assert role["MaxSessionDuration"] == 3 * 3600
    assert "Policies" not in role
    (policy_id,) = [k for k, v in access.resources("AWS::IAM::ManagedPolicy").items() if "CiRole" in k]
    assert role["ManagedPolicyArns"] == [{"Ref": policy_id}]


def test_an_environment_and_an_existing_provider() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    from stacks.ci_access_stack import CiAccessStack

    context = {
        "github_repo": "acme/llm-app",
        "github_environment": "aws-ci",
        "github_oidc_provider_arn": PROVIDER,
    }
    stack = CiAccessStack(cdk.App(), "Probe", props=ci_access_props(context))
    assert not [c for c in stack.node.find_all() if isinstance(c, iam.CfnOIDCProvider)]
    document = stack.resolve(stack.ci_role.role.assume_role_policy.to_json())  # type: ignore[union-attr]
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:acme/llm-app:environment:aws-ci",
    }
    assert stack.resolve(stack.ci_role.provider_arn) == PROVIDER


def test_the_ci_role_may_do_what_ci_needs_and_nothing_else(access: Synthesized) -> None:
    role = "arn:aws:iam::123456789012:role/"
    preflight_unscoped = sorted(
        {a for a, _ in PREFLIGHT_READ_ACTIONS} - {"ssm:GetParameter"} - WEIGHTS_READ_ACTIONS
    )
    expected = [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": [
                f"{role}cdk-hnb659fds-deploy-role-123456789012-us-east-1",
                f"{role}cdk-hnb659fds-file-publishing-role-123456789012-us-east-1",
            ],
            "Sid": "AssumeCdkBootstrapRoles",
        },
        {
            "Action": "sts:AssumeRole",
            "Condition": {"Null": {"iam:ResourceTag/sagemaker-openai:stack": "false"}},
            "Effect": "Allow",
            "Resource": f"{role}sagemaker-openai/*",
            "Sid": "AssumeKitInvokerRoles",
        },
        {
            "Action": sorted(set(LEFTOVERS_READ_ACTIONS) - {"iam:ListRoleTags"}),
            "Effect": "Allow",
            "Resource": "*",
            "Sid": "ReadStacksAndLeftovers",
        },
        {"Action": "iam:ListRoleTags", "Effect": "Allow", "Resource": f"{role}*", "Sid": "ReadRoleTags"},
        {
            "Action": "ssm:GetParameter",
            "Effect": "Allow",
            "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/cdk-bootstrap/hnb659fds/version",
            "Sid": "PreflightReadsBootstrap",
        },
        {
            "Action": preflight_unscoped[0] if len(preflight_unscoped) == 1 else preflight_unscoped,
            "Effect": "Allow",
            "Resource": "*",
            "Sid": "PreflightReads",
        },
    ]
    assert _statements(access, "CI for sagemaker-openai") == expected
    actions = json.dumps(access.policy_statements("CI for sagemaker-openai"))
    assert '"*"' not in actions.replace('"Resource": "*"', "")
    assert ":iam::aws:policy/" not in json.dumps(access.template), "no AWS managed policy"


def _handler_permissions(resource_type: str) -> set[str]:
    index = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    schema = json.loads((SCHEMAS / "resources" / f"{index[resource_type]}.json").read_text())
    return {
        permission
        for name, handler in schema.get("handlers", {}).items()
        if name != "list"
        for permission in handler.get("permissions", [])
    }


def test_the_execution_policy_covers_what_cloudformation_needs_for_the_kits_resources(
    access: Synthesized, synth: Synth
) -> None:
    kit_types = {
        resource["Type"]
        for config in (
            "qwen3-4b.yaml",
            "two-models-g6-12xlarge.yaml",
            "qwen3-4b-scale-to-zero.yaml",
            "qwen3-4b-production.yaml",
        )
        for resource in synth(load_yaml(CONFIG_DIR / config)).template["Resources"].values()
    }
    assert {"AWS::SageMaker::InferenceComponent", "AWS::EC2::VPC", "AWS::EC2::FlowLog"} <= kit_types
    granted = {
        action
        for statement in statements_of(access, "CloudFormation execution policy")
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    needed = {
        permission
        for resource_type in kit_types | OPERATIONS_TYPES
        for permission in _handler_permissions(resource_type)
        if permission.split(":")[0] not in UNUSED_SERVICES
    } - UNUSED_ACTIONS
    # Refused by design: a kit role never loses its permissions boundary (the role handler lists it for
    # updates only).
    assert needed - granted == set(DENIED_ROLE_ACTIONS), "missing"
    assert granted - needed == set(), "more than CloudFormation's handlers list"


def test_the_execution_policy_passes_and_creates_only_kit_and_autoscaling_roles(access: Synthesized) -> None:
    statements = {s["Sid"]: s for s in _statements(access, "CloudFormation execution policy")}
    assert statements["PassKitRolesToSageMakerSchedulerAndFlowLogs"] == {
        "Action": "iam:PassRole",
        "Condition": {
            "StringEquals": {
                "iam:PassedToService": [
                    "sagemaker.amazonaws.com",
                    "scheduler.amazonaws.com",
                    "vpc-flow-logs.amazonaws.com",
                ]
            },
            "Null": {"iam:ResourceTag/sagemaker-openai:stack": "false"},
        },
        "Effect": "Allow",
        "Resource": "arn:aws:iam::123456789012:role/sagemaker-openai/*",
        "Sid": "PassKitRolesToSageMakerSchedulerAndFlowLogs",
    }
    assert statements["AutoScalingServiceLinkedRole"] == {
        "Action": "iam:CreateServiceLinkedRole",
        "Condition": {
            "StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
        },
        "Effect": "Allow",
        "Resource": "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling."
        "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        "Sid": "AutoScalingServiceLinkedRole",
    }
    assert statements["EndpointLogGroups"]["Resource"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/flow-logs/*",
    ]
    for sid, statement in statements.items():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith("*") for a in actions), sid
        if statement["Resource"] == "*" and statement["Effect"] == "Allow":
            assert sid == "UnscopedReadsAndAccountLevelCreates"


def test_every_action_names_a_real_api_operation(access: Synthesized) -> None:
    import botocore.session

    session = botocore.session.get_session()
    available = set(session.get_available_services())
    for statement in access.template["Resources"].values():
        if statement["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for st in statement["Properties"]["PolicyDocument"]["Statement"]:
            for action in [st["Action"]] if isinstance(st["Action"], str) else st["Action"]:
                if action in NOT_OPERATIONS:
                    continue
                prefix, operation = OPERATION_OF.get(action, action).split(":")
                service = SERVICE_OF_ACTION.get(action) or BOTOCORE_NAMES.get(prefix, prefix)
                assert service in available, action
                model = session.get_service_model(service)
                assert operation in model.operation_names, action


def test_outputs_give_the_role_and_the_execution_policy(access: Synthesized) -> None:
    outputs = access.template["Outputs"]
    assert set(outputs) == {"CiRoleArn", "ExecutionPolicyArn", "OidcProviderArn", "PermissionsBoundaryArn"}
    assert "AWS_PERMISSIONS_BOUNDARY_ARN" in outputs["PermissionsBoundaryArn"]["Description"]
    assert outputs["CiRoleArn"]["Value"]["Fn::GetAtt"][1] == "Arn"
    assert "cloudformation-execution-policies" in outputs["ExecutionPolicyArn"]["Description"]


def test_every_nag_pack_is_clean_with_reasoned_acknowledgments(access: Synthesized) -> None:
    import aws_cdk as cdk
    from cdk_nag import HIPAASecurityChecks, NIST80053R5Checks

    for plugin in access.report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["pluginName"]
        assert plugin["violations"] == []
        for finding in plugin.get("suppressedViolations", []):
            assert finding["ruleName"].startswith("AwsSolutions-IAM5[Resource::") or finding["ruleName"] == (
                "SageMakerOpenAI-InvokerScopedToEndpoints"
            ), finding["ruleName"]
            assert len(finding["reason"]) > 60
    # These two packs find nothing to acknowledge here; check them directly.
    app = cdk.App(context=cdk_json_context())
    from stacks.ci_access_stack import CiAccessStack

    stack = CiAccessStack(app, "Probe", props=ci_access_props({"github_repo": "acme/llm-app"}))
    for pack in (NIST80053R5Checks(app), HIPAASecurityChecks(app)):
        assert pack.validate_scope(stack).violations == []


def test_cfn_lint_and_checkov_report_nothing(access: Synthesized, scans: Scans) -> None:
    from scripts.validate_templates import DEFAULT_LINT_REGIONS

    assert scans.regions(access) == DEFAULT_LINT_REGIONS
    assert scans.cfn_lint(access) == []
    result = scans.checkov(access)
    assert result.failed == []
    assert result.skipped == ["CKV_AWS_111"]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"github_repo": "acme"},
            "GITHUB_REPO 'acme' is not OWNER/NAME; pass the repository whose workflow runs, e.g. "
            "make ci-access GITHUB_REPO=acme/llm-app",
        ),
        (
            {"github_repo": "acme/app", "github_branch": "main branch"},
            "GITHUB_BRANCH 'main branch' has characters GitHub does not allow; pass a plain name",
        ),
        (
            {"github_repo": "acme/app", "github_oidc_provider_arn": "arn:aws:iam::1:oidc-provider/x"},
            "GITHUB_OIDC_PROVIDER_ARN 'arn:aws:iam::1:oidc-provider/x' is not the ARN of a "
            "token.actions.githubusercontent.com provider; copy it from the IAM console, or leave it out "
            "to create the provider",
        ),
        (
            {"github_repo": "acme/app", "cdk_qualifier": "Not-Valid"},
            "CDK_QUALIFIER 'Not-Valid' must be 1 to 10 lowercase letters or digits",
        ),
    ],
)
def test_bad_inputs_are_one_line_naming_the_make_variable(context: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ci_access_props(context)
    assert str(caught.value) == message


@pytest.mark.cli
def test_the_app_reports_a_bad_repository_in_one_line() -> None:
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "ci_access_app.py"],
        cwd=ROOT,
        env={"CDK_CONTEXT_JSON": json.dumps({"github_repo": "nope"}), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert [line for line in proc.stderr.splitlines() if line.startswith("Error")] == [
        "Error: GITHUB_REPO 'nope' is not OWNER/NAME; pass the repository whose workflow runs, e.g. "
        "make ci-access GITHUB_REPO=acme/llm-app"
    ]
    assert "Traceback" not in proc.stderr


def test_weights_reads_are_granted_only_on_the_named_buckets(tmp_path: Path) -> None:
    scoped = synthesize_ci_access(
        {"github_repo": "acme/llm-app", "weights_buckets": "my-models, team-weights"}, tmp_path
    )
    statements = {st["Sid"]: st for st in _statements(scoped, "CI for sagemaker-openai")}
    assert statements["PreflightReadsWeightsBuckets"] == {
        "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
        "Effect": "Allow",
        "Resource": ["arn:aws:s3:::my-models", "arn:aws:s3:::team-weights"],
        "Sid": "PreflightReadsWeightsBuckets",
    }
    assert statements["PreflightReadsWeights"] == {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": ["arn:aws:s3:::my-models/*", "arn:aws:s3:::team-weights/*"],
        "Sid": "PreflightReadsWeights",
    }
    assert not WEIGHTS_READ_ACTIONS & set(statements["PreflightReads"]["Action"])


def test_a_bad_weights_bucket_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^WEIGHTS_BUCKETS entry 'My_Bucket' is not an S3 bucket name; "):
        ci_access_props({"github_repo": "acme/llm-app", "weights_buckets": "My_Bucket"})


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("acme/llm-app", "sagemaker-openai-ci-access-acme-llm-app"),
        ("Acme/LLM-App", "sagemaker-openai-ci-access-acme-llm-app"),  # GitHub names are case-blind
        ("acme/llm.app", "sagemaker-openai-ci-access-acme-llm-app-"),  # hashed: not acme/llm-app's
    ],
)
def test_the_access_stack_is_named_after_its_repository(repository: str, expected: str) -> None:
    name = ci_access_stack_name(repository)
    assert name.startswith(expected)
    assert (name == expected) is expected.endswith("-app")


def test_long_or_lookalike_repositories_get_distinct_names_that_fit() -> None:
    long_a, long_b = f"{'o' * 39}/{'r' * 99}a", f"{'o' * 39}/{'r' * 99}b"
    names = {
        ci_access_stack_name(r) for r in ("acme/llm-app", "acme/llm.app", "acme/llm_app", long_a, long_b)
    }
    assert len(names) == 5
    assert all(len(n) <= 128 and n[0].isalpha() and n.replace("-", "").isalnum() for n in names)


@pytest.mark.cli
def test_the_app_itself_passes_weights_buckets_to_the_template(tmp_path: Path) -> None:
    """What `make ci-access-synth GITHUB_REPO=acme/llm-app WEIGHTS_BUCKETS=my-models` runs (cdk.json-free)."""
    context = {"github_repo": "acme/llm-app", "weights_buckets": "my-models"}
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "ci_access_app.py"],
        cwd=ROOT,
        env={"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    template = json.loads((tmp_path / "sagemaker-openai-ci-access-acme-llm-app.template.json").read_text())
    policies = {
        r["Properties"]["Description"].split(":")[0]: r["Properties"]["PolicyDocument"]["Statement"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    }
    named = {
        (description, statement["Sid"])
        for description, statements in policies.items()
        for statement in statements
        if "my-models" in json.dumps(statement["Resource"])
    }
    assert named == {
        ("CI for sagemaker-openai", "PreflightReadsWeightsBuckets"),
        ("CI for sagemaker-openai", "PreflightReadsWeights"),
        ("Permissions boundary of sagemaker-openai roles", "ListWeightsBuckets"),
        ("Permissions boundary of sagemaker-openai roles", "ReadWeights"),
    }


def test_without_weights_buckets_the_boundary_reads_no_bucket(access: Synthesized) -> None:
    boundary = json.dumps(access.policy_statements("Permissions boundary"))
    assert ":s3:" not in boundary
    assert '"s3:' not in boundary
