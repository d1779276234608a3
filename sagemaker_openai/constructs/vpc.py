"""The network of the model containers: a VPC the stack creates, or existing subnets and security groups.

AWS "Give SageMaker AI Hosted Endpoints Access to Resources in Your Amazon VPC" (host-vpc): SageMaker
attaches network interfaces in the given subnets to the model containers, "at least two subnets in
different availability zones" are required, and without internet access the containers reach S3 only
through an S3 VPC endpoint. The image is pulled by SageMaker outside the VPC and the container logs
go through SageMaker, so the kit adds no other endpoint: none is named as needed by that page.
"""

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_openai.config import LogsSpec, VpcSpec
from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, HIPAA, NIST_R5, acknowledge, finding_resource
from sagemaker_openai.constructs.endpoint import log_group

FLOW_LOG_GROUP = "/aws/vpc/flow-logs/{name}"
# The execution role's actions for a model in a VPC (AWS sagemaker-roles, "CreateModel API: Execution
# Role Permissions"). The Describe actions support no resource-level permissions.
ENI_DESCRIBE_ACTIONS = [
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
]
ENI_MANAGE_ACTIONS = [
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
]


class ModelNetwork(Construct):
    """Subnets and security groups for the models' ``VpcConfig``.

    ``create``: a VPC with one isolated subnet in each of two zones (no NAT gateway, no internet
    gateway), an S3 gateway endpoint for the weights, a security group with no inbound rule and only
    HTTPS out, and flow logs to a CloudWatch log group. Otherwise the configured IDs, used as given.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: VpcSpec,
        name: str,
        logs_spec: LogsSpec,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc: ec2.Vpc | None = None
        self.flow_log_group: logs.LogGroup | None = None
        if not spec.create:
            self.subnet_ids = list(spec.subnet_ids)
            self.security_group_ids = list(spec.security_group_ids)
            return
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Models", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            # True would add a custom-resource Lambda to empty the default security group; nothing
            # here uses that group (the models get their own below).
            restrict_default_security_group=False,
        )
        acknowledge(
            self.vpc,
            "VPCDefaultSecurityGroupClosed",
            "Nothing in the stack uses the VPC's default security group (the models get their own, with "
            "no inbound rule); closing it needs CDK's custom-resource Lambda, which would add a function, "
            "a role and a log group to every deploy.",
            packs=(NIST_R5, HIPAA),
        )
        group = ec2.SecurityGroup(
            self,
            "ModelSecurityGroup",
            vpc=self.vpc,
            description="SageMaker model containers: no inbound rule, HTTPS out to the S3 gateway endpoint",
            allow_all_outbound=False,
        )
        # The subnets route nowhere but to the S3 gateway endpoint, whose prefix list ID is only known
        # per region at deploy time; HTTPS to any address therefore reaches S3 and nothing else.
        group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 through the gateway endpoint"
        )
        self.subnet_ids = [subnet.subnet_id for subnet in self.vpc.isolated_subnets]
        self.security_group_ids = [group.security_group_id]
        self._add_flow_logs(name, logs_spec, encryption_key)

    def _add_flow_logs(self, name: str, logs_spec: LogsSpec, encryption_key: kms.IKey | None) -> None:
        assert self.vpc is not None
        group_name = FLOW_LOG_GROUP.format(name=name)
        self.flow_log_group = log_group(
            self, "FlowLogGroup", name=group_name, spec=logs_spec, encryption_key=encryption_key
        )
        stack = Stack.of(self)
        group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        policy = iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            description="VPC flow logs of the model subnets into their log group",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    resources=[group_arn, f"{group_arn}:log-stream:*"],
                )
            ],
        )
        acknowledge(
            policy,
            f"IAM5[Resource::{finding_resource(self, f'{group_arn}:log-stream:*')}]",
            "VPC Flow Logs names a log stream after each network interface it records; the wildcard covers "
            "streams of this one log group only.",
            packs=(AWS_SOLUTIONS,),
        )
        role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="Lets VPC Flow Logs write the model subnets' flow logs",
            managed_policies=[policy],
        )
        ec2.CfnFlowLog(
            self,
            "FlowLog",
            resource_id=self.vpc.vpc_id,
            resource_type="VPC",
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_group_name=group_name,
            deliver_logs_permission_arn=role.role_arn,
        ).node.add_dependency(self.flow_log_group)

    def vpc_config(self) -> sagemaker.CfnModel.VpcConfigProperty:
        return sagemaker.CfnModel.VpcConfigProperty(
            subnets=self.subnet_ids, security_group_ids=self.security_group_ids
        )

    def endpoint_config_vpc_config(self) -> sagemaker.CfnEndpointConfig.VpcConfigProperty:
        return sagemaker.CfnEndpointConfig.VpcConfigProperty(
            subnets=self.subnet_ids, security_group_ids=self.security_group_ids
        )

    def execution_role_statements(self) -> list[iam.PolicyStatement]:
        """What the execution role needs to attach and remove the models' network interfaces."""
        stack = Stack.of(self)

        def ec2_arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        interfaces = ec2_arn("network-interface", "*")
        return [
            iam.PolicyStatement(sid="DescribeNetwork", actions=ENI_DESCRIBE_ACTIONS, resources=["*"]),
            iam.PolicyStatement(
                sid="CreateModelNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    interfaces,
                    *(ec2_arn("subnet", subnet) for subnet in self.subnet_ids),
                    *(ec2_arn("security-group", group) for group in self.security_group_ids),
                ],
            ),
            iam.PolicyStatement(
                sid="ManageModelNetworkInterfaces", actions=ENI_MANAGE_ACTIONS, resources=[interfaces]
            ),
        ]

    def attach(
        self,
        *,
        models: Sequence[sagemaker.CfnModel],
        role_policy: iam.ManagedPolicy,
        endpoint_config: sagemaker.CfnEndpointConfig | None = None,
    ) -> None:
        """Put ``models`` (and an IC endpoint config) in the network, and let the role do it."""
        for model in models:
            model.vpc_config = self.vpc_config()
        if endpoint_config is not None:
            endpoint_config.vpc_config = self.endpoint_config_vpc_config()
        role_policy.add_statements(*self.execution_role_statements())
        interfaces = Stack.of(self).format_arn(service="ec2", resource="network-interface", resource_name="*")
        acknowledge(
            role_policy,
            f"IAM5[Resource::{finding_resource(self, interfaces)}]",
            "SageMaker creates the models' network interfaces at deploy time, so their IDs cannot be "
            "named; CreateNetworkInterface is also limited to the configured subnets and security groups.",
            packs=(AWS_SOLUTIONS,),
        )
        acknowledge(
            role_policy,
            "IAM5[Resource::*]",
            "ec2:DescribeDhcpOptions, DescribeNetworkInterfaces, DescribeSecurityGroups, DescribeSubnets "
            "and DescribeVpcs support no resource-level permissions (Service Authorization Reference), so "
            "they need Resource *; they only read network metadata.",
            packs=(AWS_SOLUTIONS,),
        )
