"""CloudWatch alarms for an endpoint and its components, an optional SNS topic, and an optional dashboard.

Metric names, namespaces, units and dimensions follow AWS "Amazon SageMaker AI metrics in Amazon
CloudWatch" (monitoring-cloudwatch): ``AWS/SageMaker`` holds the invocation metrics (ModelLatency in
microseconds) by ``EndpointName, VariantName`` or by ``InferenceComponentName``;
``/aws/sagemaker/Endpoints`` holds the instance metrics by ``EndpointName, VariantName``, where
GPUUtilization runs from 0 to 100 times the instance's GPU count; ``/aws/sagemaker/InferenceComponents``
holds only normalized (0-100) utilization by ``InferenceComponentName``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from sagemaker_openai.catalog.instances import InstanceSpec
from sagemaker_openai.config import MonitoringSpec
from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, HIPAA, NIST_R5, acknowledge
from sagemaker_openai.constructs.alarm_sources import (
    CLOUDWATCH_ALARMS,
    alarm_name_prefixes,
    alarm_source_conditions,
)
from sagemaker_openai.constructs.console import console_url
from sagemaker_openai.naming import error_rate_alarm_name

INVOCATIONS = "AWS/SageMaker"
ENDPOINT_INSTANCES = "/aws/sagemaker/Endpoints"
COMPONENT_INSTANCES = "/aws/sagemaker/InferenceComponents"
PERIOD = Duration.minutes(5)
MICROSECONDS_PER_SECOND = 1_000_000


@dataclass(frozen=True)
class MonitoredComponent:
    """An inference component to watch: its model key (for labels) and its name (the metric dimension)."""

    key: str
    component_name: str
    scales_to_zero: bool = False


@dataclass(frozen=True)
class ScalingTarget:
    """The metric target tracking follows, drawn on the dashboard with its target value."""

    metric_name: str
    statistic: str
    target: float


class EndpointMonitoring(Construct):
    """Alarms for one endpoint (single-model) or for each of its components, notified through SNS.

    Single-model: the 5xx error rate (metric math over Invocation5XXErrors and Invocations), ModelLatency
    p99 and DiskUtilization. Inference components: the 5xx error rate, latency and
    NoCapacityInvocationFailures per component (not for one that scales to zero copies, where each
    wake-up starts with such a failure), and the endpoint's DiskUtilization. The error-rate and latency
    alarms are also the ``rollback_alarms`` of updates. GPU use and GPU memory are on the dashboard
    only: vLLM keeps a busy GPU near 100% and reserves ``gpu_memory_utilization`` of its memory at
    start, so an alarm on either would say nothing about health. The LLM metrics of detailed
    observability (time to first token, queue depth, KV cache) are OpenTelemetry metrics queried with
    PromQL, whose names AWS's pages do not give; the kit has no alarm on them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: MonitoringSpec,
        endpoint_name: str,
        variant_name: str,
        instance: InstanceSpec,
        components: Sequence[MonitoredComponent] = (),
        scaling: dict[str, ScalingTarget] | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.endpoint_name = endpoint_name
        self.variant = {"EndpointName": endpoint_name, "VariantName": variant_name}
        self.gpus = instance.gpus
        self.alarms: list[cloudwatch.Alarm] = []
        # The alarms that roll an update back, by component name (None: the single-model endpoint).
        self.rollback_alarms: dict[str | None, list[cloudwatch.Alarm]] = {}
        self.alarm_name_prefixes = alarm_name_prefixes(endpoint_name, [c.component_name for c in components])
        self.topic: sns.ITopic | None = self._topic(encryption_key)
        if spec.alarms:
            self._add_alarms(components)
        self.dashboard: cloudwatch.Dashboard | None = None
        if spec.dashboard:
            self._add_dashboard(components, scaling or {})

    # Metrics -------------------------------------------------------------------------------------

    def _invocation_metric(self, name: str, statistic: str, component: str | None) -> cloudwatch.Metric:
        dimensions = {"InferenceComponentName": component} if component else self.variant
        return cloudwatch.Metric(
            namespace=INVOCATIONS,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=PERIOD,
        )

    def _instance_metric(self, name: str, statistic: str = "Average") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=ENDPOINT_INSTANCES,
            metric_name=name,
            dimensions_map=self.variant,
            statistic=statistic,
            period=PERIOD,
        )

    def _component_metric(self, name: str, component: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=COMPONENT_INSTANCES,
            metric_name=name,
            dimensions_map={"InferenceComponentName": component},
            statistic="Average",
            period=PERIOD,
        )

    def _latency_seconds(self, statistic: str, component: str | None) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=f"latency_{statistic} / {MICROSECONDS_PER_SECOND}",
            using_metrics={
                f"latency_{statistic}": self._invocation_metric("ModelLatency", statistic, component)
            },
            label=f"ModelLatency {statistic} (s)",
            period=PERIOD,
        )

    def _gpu_share(self, name: str) -> cloudwatch.MathExpression:
        """An instance GPU metric (0 to 100 x GPUs) as a share of all the instance's GPUs (0 to 100)."""
        metric_id = name.lower()
        return cloudwatch.MathExpression(
            expression=f"{metric_id} / {self.gpus}",
            using_metrics={metric_id: self._instance_metric(name)},
            label=f"{name} (% of {self.gpus} GPU)",
            period=PERIOD,
        )

    # Alarms --------------------------------------------------------------------------------------

    def _add_alarms(self, components: Sequence[MonitoredComponent]) -> None:
        thresholds = self.spec.thresholds
        targets: list[tuple[str, str | None, bool]] = (
            [(f"Component{index}", c.component_name, c.scales_to_zero) for index, c in enumerate(components)]
            if components
            else [("Endpoint", None, False)]
        )
        for prefix, component, scales_to_zero in targets:
            name = component or self.endpoint_name
            rate = thresholds.invocation_5xx_error_rate_percent
            errors = self._alarm(
                f"{prefix}ErrorRate5xx",
                self._error_rate(component),
                threshold=rate,
                periods=1,
                name=error_rate_alarm_name(name),
                description=f"{name}: {rate:g}% or more of the requests got a 5xx response in 5 minutes",
            )
            latency = thresholds.model_latency_p99_seconds
            slow = self._alarm(
                f"{prefix}LatencyP99",
                self._invocation_metric("ModelLatency", "p99", component),
                threshold=latency * MICROSECONDS_PER_SECOND,
                periods=3,
                name=f"{name}-latency-p99",
                description=f"{name}: model latency p99 above {latency:g} s for 15 minutes",
            )
            self.rollback_alarms[component] = [errors, slow]
            # At zero copies every first request fails by design (and wakes the component up).
            if component and not scales_to_zero:
                failures = thresholds.no_capacity_invocation_failures
                self._alarm(
                    f"{prefix}NoCapacity",
                    self._invocation_metric("NoCapacityInvocationFailures", "Sum", component),
                    threshold=failures,
                    periods=1,
                    name=f"{name}-no-capacity",
                    description=f"{name}: {failures} or more requests found no copy in 5 minutes",
                )
        disk = thresholds.disk_utilization_percent
        self._alarm(
            "EndpointDiskUtilization",
            self._instance_metric("DiskUtilization", "Maximum"),
            threshold=disk,
            periods=1,
            name=f"{self.endpoint_name}-disk-utilization",
            description=f"{self.endpoint_name}: an instance's disk is more than {disk:g}% full",
        )

    def _error_rate(self, component: str | None) -> cloudwatch.MathExpression:
        """Invocation5XXErrors per 100 Invocations; no requests is no error (0, not missing data)."""
        return cloudwatch.MathExpression(
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            using_metrics={
                "errors": self._invocation_metric("Invocation5XXErrors", "Sum", component),
                "invocations": self._invocation_metric("Invocations", "Sum", component),
            },
            label="5xx responses (% of requests)",
            period=PERIOD,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        periods: int,
        name: str,
        description: str,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No requests or no instance (scaled in) is not a failure.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_name=name,
            alarm_description=description,
        )
        if self.topic is not None:
            action = cloudwatch_actions.SnsAction(self.topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        else:
            acknowledge(
                alarm,
                "CloudWatchAlarmAction",
                "The config names no SNS topic (monitoring.create_sns_topic or sns_topic_arn), so the alarm "
                "changes state in the CloudWatch console only; set one to be notified.",
                packs=(NIST_R5, HIPAA),
            )
        self.alarms.append(alarm)
        return alarm

    def _topic(self, encryption_key: kms.IKey | None) -> sns.ITopic | None:
        if self.spec.sns_topic_arn is not None:
            return sns.Topic.from_topic_arn(self, "Topic", self.spec.sns_topic_arn)
        if not self.spec.create_sns_topic:
            return None
        topic = sns.Topic(
            self,
            "Topic",
            display_name=f"{self.endpoint_name} alarms",
            master_key=encryption_key,
            enforce_ssl=True,
        )
        # Beside enforce_ssl's deny, the one publisher: this stack's alarms (the topic policy is otherwise
        # empty, and CloudWatch is refused).
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisStackPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_ALARMS)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=alarm_source_conditions(self, self.alarm_name_prefixes),
            )
        )
        if encryption_key is None:
            why = (
                "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key aws/sns, "
                "whose policy cannot grant cloudwatch.amazonaws.com; set kms to use a customer managed key."
            )
            acknowledge(topic, "SNS2", why, packs=(AWS_SOLUTIONS,))
            acknowledge(topic, "SNSEncryptedKMS", why, packs=(NIST_R5, HIPAA))
            resource = cast(sns.CfnTopic, topic.node.default_child)
            resource.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_26", "comment": why}]})
        CfnOutput(
            Stack.of(self),
            "AlarmTopicArn",
            value=topic.topic_arn,
            description="SNS topic the alarms notify; subscribe an email address or a chat integration to it",
        )
        return topic

    # Dashboard -----------------------------------------------------------------------------------

    def _add_dashboard(
        self, components: Sequence[MonitoredComponent], scaling: dict[str, ScalingTarget]
    ) -> None:
        rows: list[list[cloudwatch.IWidget]] = []
        keys: list[tuple[str, str | None]] = (
            [(c.key, c.component_name) for c in components] if components else [("endpoint", None)]
        )
        for key, component in keys:
            rows.append(self._model_row(key, component, scaling.get(key)))
        rows.append(self._instance_row())
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.endpoint_name,
            widgets=rows,
            default_interval=Duration.hours(3),
        )
        CfnOutput(
            Stack.of(self),
            "DashboardUrl",
            value=console_url(
                self, ["/cloudwatch/home?region=", Aws.REGION, f"#dashboards:name={self.endpoint_name}"]
            ),
            description="CloudWatch dashboard of the endpoint: invocations, latency, errors, GPU and scaling",
        )

    def _model_row(
        self, key: str, component: str | None, scaling: ScalingTarget | None
    ) -> list[cloudwatch.IWidget]:
        title = f"{key}: " if component else ""
        gpu: list[cloudwatch.IMetric] = (
            [
                self._component_metric("GPUUtilizationNormalized", component),
                self._component_metric("GPUMemoryUtilizationNormalized", component),
            ]
            if component
            else [self._gpu_share("GPUUtilization"), self._gpu_share("GPUMemoryUtilization")]
        )
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"{title}invocations and errors",
                left=[
                    self._invocation_metric("Invocations", "Sum", component),
                    self._invocation_metric("Invocation4XXErrors", "Sum", component),
                    self._invocation_metric("Invocation5XXErrors", "Sum", component),
                ],
                # The rate the 5xx alarm watches, beside its threshold.
                right=[self._error_rate(component)],
                right_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=self.spec.thresholds.invocation_5xx_error_rate_percent, label="5xx alarm"
                    )
                ]
                if self.spec.alarms
                else None,
                right_y_axis=cloudwatch.YAxisProps(min=0, label="% of requests", show_units=False),
                width=6,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}model latency (s)",
                left=[self._latency_seconds("p50", component), self._latency_seconds("p99", component)],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}GPU and GPU memory (%)",
                left=gpu,
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                width=6,
            ),
        ]
        if scaling is not None:
            widgets.append(
                cloudwatch.GraphWidget(
                    title=f"{title}scaling metric and target",
                    left=[
                        cloudwatch.Metric(
                            namespace=INVOCATIONS,
                            metric_name=scaling.metric_name,
                            dimensions_map={"InferenceComponentName": component}
                            if component
                            else self.variant,
                            statistic=scaling.statistic,
                            period=Duration.minutes(1),
                        )
                    ],
                    left_annotations=[cloudwatch.HorizontalAnnotation(value=scaling.target, label="target")],
                    width=6,
                )
            )
        return widgets

    def _instance_row(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="instances: disk and memory (%)",
                left=[
                    self._instance_metric("DiskUtilization", "Maximum"),
                    self._instance_metric("MemoryUtilization", "Maximum"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="instances in service",
                left=[
                    cloudwatch.Metric(
                        namespace=ENDPOINT_INSTANCES,
                        metric_name="CPUUtilization",
                        dimensions_map=self.variant,
                        statistic="SampleCount",
                        period=Duration.minutes(1),
                        label="instances reporting (samples per minute)",
                    )
                ],
                width=12,
            ),
        ]
