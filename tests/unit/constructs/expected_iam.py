"""The execution-role statements and trust policy every kit stack must have, as the stack tests expect."""

from typing import Any

from tests.conftest import Synthesized, arn_join

SAGEMAKER_TRUST = {
    "Statement": [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ],
    "Version": "2012-10-17",
}


def log_arns(*groups: str) -> list[dict[str, Any]]:
    """Each log group's ARN and the ARN of its streams, as the execution policy names them."""
    return [arn_join("logs", f":log-group:{g}{suffix}") for g in groups for suffix in ("", ":log-stream:*")]


def execution_statements(
    s: Synthesized, log_groups: list[str], rollback_alarms: list[str] | None = None
) -> list[dict[str, Any]]:
    """Pull the DLC image from its region's registry, write these log groups, put metrics, and read the
    rollback alarms of updates (by logical ID), which SageMaker reads with this role: nothing more."""
    mapping_id = next(iter(s.template["Mappings"]))
    registry = {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "account"]}
    return [
        {"Sid": "PullImageAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": arn_join("ecr", ":repository/vllm", account=registry),
        },
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            "Resource": log_arns(*log_groups),
        },
        {"Sid": "PutMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        *(
            [
                {
                    "Sid": "DescribeRollbackAlarms",
                    "Effect": "Allow",
                    "Action": "cloudwatch:DescribeAlarms",
                    "Resource": [{"Fn::GetAtt": [alarm, "Arn"]} for alarm in rollback_alarms],
                }
            ]
            if rollback_alarms
            else []
        ),
    ]
