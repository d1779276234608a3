"""Each grant of the CloudFormation execution policy: the handler permissions of the kit's resource types."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from sagemaker_openai.constructs.ci_access.rules import (
    AUTOSCALING_SERVICE,
    AUTOSCALING_SLR,
    DENIED_ROLE_ACTIONS,
    HAS_KIT_TAG,
    KIT_IAM_PATH,
    POLICY_CHANGE_ACTIONS,
    ROLE_WRITE_ACTIONS,
    stack_arn,
)
from sagemaker_openai.naming.tags import KIT_TAG


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: dict[str, dict[str, object]] | None = None
    effect: iam.Effect = iam.Effect.ALLOW


def execution_grants(stack: Stack, boundary_arn: str) -> list[Grant]:
    arn = partial(stack_arn, stack)

    sagemaker = tuple(
        arn("sagemaker", kind, "*")
        for kind in ("model", "endpoint-config", "endpoint", "inference-component")
    )
    kit_path = KIT_IAM_PATH.strip("/")
    kit_roles = arn("iam", "role", f"{kit_path}/*", region="")
    kit_policies = arn("iam", "policy", f"{kit_path}/*", region="")
    within_boundary: dict[str, dict[str, object]] = {
        "StringEquals": {"iam:PermissionsBoundary": boundary_arn}
    }
    log_groups = (
        arn("logs", "log-group", "/aws/sagemaker/*", sep=":"),
        arn("logs", "log-group", "/aws/vpc/flow-logs/*", sep=":"),
    )
    return [
        Grant(
            "SageMakerHosting",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateInferenceComponent",
                "sagemaker:CreateModel",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:DeleteInferenceComponent",
                "sagemaker:DeleteModel",
                "sagemaker:DeleteTags",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeInferenceComponent",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:UpdateEndpoint",
                "sagemaker:UpdateInferenceComponent",
                "sagemaker:UpdateInferenceComponentRuntimeConfig",
            ),
            sagemaker,
        ),
        # One statement per set of conditions: two Allow statements would grant either, not both.
        Grant(
            "CreateKitRolesWithTheBoundaryAndTag",
            ("iam:CreateRole",),
            (kit_roles,),
            {**within_boundary, "Null": {f"aws:RequestTag/{KIT_TAG}": "false"}},
        ),
        Grant(
            "AttachKitPoliciesWithinTheBoundary",
            ("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
            (kit_roles,),
            {**within_boundary, "ArnLike": {"iam:PolicyARN": kit_policies}},
        ),
        Grant(
            "WriteKitRolesWithinTheBoundary",
            tuple(
                sorted(
                    set(ROLE_WRITE_ACTIONS)
                    - {"iam:CreateRole", "iam:AttachRolePolicy", "iam:DetachRolePolicy"}
                )
            ),
            (kit_roles,),
            within_boundary,
        ),
        Grant(
            "ReadTagAndDeleteKitRoles",
            (
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ),
            (kit_roles,),
        ),
        Grant(
            "KitPolicies",
            (
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListEntitiesForPolicy",
                "iam:ListPolicyVersions",
            ),
            (kit_policies,),
        ),
        Grant(
            "PassKitRolesToSageMakerSchedulerAndFlowLogs",
            ("iam:PassRole",),
            (kit_roles,),
            {
                "StringEquals": {
                    "iam:PassedToService": [
                        "sagemaker.amazonaws.com",
                        "scheduler.amazonaws.com",
                        "vpc-flow-logs.amazonaws.com",
                    ]
                },
                **HAS_KIT_TAG,
            },
        ),
        Grant("NeverRemoveABoundary", DENIED_ROLE_ACTIONS, ("*",), effect=iam.Effect.DENY),
        Grant("NeverChangeTheBoundary", POLICY_CHANGE_ACTIONS, (boundary_arn,), effect=iam.Effect.DENY),
        Grant(
            "NeverUntagTheKitTag",
            ("iam:UntagRole",),
            ("*",),
            {"ForAnyValue:StringEquals": {"aws:TagKeys": [KIT_TAG]}},
            effect=iam.Effect.DENY,
        ),
        Grant(
            "AutoScalingServiceLinkedRole",
            ("iam:CreateServiceLinkedRole",),
            (arn("iam", "role", AUTOSCALING_SLR, region=""),),
            {"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SERVICE}},
        ),
        Grant(
            "EndpointLogGroups",
            (
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ),
            log_groups,
        ),
        Grant(
            "UnscopedReadsAndAccountLevelCreates",
            (
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
                "application-autoscaling:ListTagsForResource",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
                "autoscaling:DescribeTags",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetMetricData",
                "ec2:DescribeFlowLogs",
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkAcls",
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeTags",
                "ec2:DescribeVpcEncryptionControls",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeVpcs",
                "kms:CreateKey",
                "kms:ListAliases",
                "logs:DescribeIndexPolicies",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:GetDataProtectionPolicy",
            ),
            ("*",),
        ),
        Grant(
            "AlarmsAndDashboards",
            (
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DeleteDashboards",
                "cloudwatch:GetDashboard",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutDashboard",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ),
            (arn("cloudwatch", "alarm", "*", sep=":"), arn("cloudwatch", "dashboard", "*", region="")),
        ),
        Grant(
            "ExpirySchedules",
            (
                "scheduler:CreateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
                "scheduler:UpdateSchedule",
            ),
            (arn("scheduler", "schedule", "default/*"),),
        ),
        Grant(
            "VpcSecurityGroupsAndEndpoints",
            (
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateSecurityGroup",
                "ec2:CreateTags",
                "ec2:CreateVpcEndpoint",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteTags",
                "ec2:DeleteVpcEndpoints",
                "ec2:ModifyVpcEndpoint",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            ),
            tuple(
                arn("ec2", kind, "*")
                for kind in ("security-group", "security-group-rule", "vpc", "subnet", "vpc-endpoint")
            ),
        ),
        Grant(
            "CreatedModelVpcAndFlowLogs",
            (
                "ec2:AssociateRouteTable",
                "ec2:AssociateSubnetCidrBlock",
                "ec2:CreateFlowLogs",
                "ec2:CreateRouteTable",
                "ec2:CreateSubnet",
                "ec2:CreateVpc",
                "ec2:CreateVpcEncryptionControl",
                "ec2:DeleteFlowLogs",
                "ec2:DeleteRouteTable",
                "ec2:DeleteSubnet",
                "ec2:DeleteVpc",
                "ec2:DescribeVpcAttribute",
                "ec2:DisassociateRouteTable",
                "ec2:DisassociateSubnetCidrBlock",
                "ec2:ModifySubnetAttribute",
                "ec2:ModifyVpcAttribute",
                "ec2:ModifyVpcTenancy",
                "ec2:ReplaceRouteTableAssociation",
            ),
            tuple(
                arn("ec2", kind, "*")
                for kind in ("vpc", "subnet", "route-table", "vpc-flow-log", "vpc-encryption-control")
            ),
        ),
        Grant(
            "KmsKeysAndAliases",
            (
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:DescribeKey",
                "kms:DisableKey",
                "kms:DisableKeyRotation",
                "kms:EnableKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
            ),
            (arn("kms", "key", "*"), arn("kms", "alias", "*")),
        ),
        Grant(
            "AlarmTopics",
            (
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetDataProtectionPolicy",
                "sns:GetSubscriptionAttributes",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:PutDataProtectionPolicy",
                "sns:SetSubscriptionAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:Unsubscribe",
                "sns:UntagResource",
            ),
            (arn("sns", "*", None),),
        ),
        Grant(
            "ExpiryDeadLetterQueues",
            (
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListQueueTags",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ),
            (arn("sqs", "*", None),),
        ),
    ]
