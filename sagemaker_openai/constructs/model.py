"""A SageMaker model that serves one LLM with the vLLM DLC."""

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_openai.catalog.vllm_env import container_environment
from sagemaker_openai.config import ModelSpec
from sagemaker_openai.constructs._nag import KIT, acknowledge
from sagemaker_openai.constructs.execution_role import ExecutionRole
from sagemaker_openai.constructs.image import VllmImage


class VllmModel(Construct):
    """A CfnModel with a generated name, so that a changed image or setting replaces it cleanly.

    Weights come from ``spec.hf_model_id`` (downloaded by the container at start) or from the
    uncompressed S3 prefix ``spec.s3_uri`` (SageMaker copies it to /opt/ml/model before start).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: ModelSpec,
        image: VllmImage,
        role: ExecutionRole,
        field: str = "model",
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.environment = container_environment(spec, field=field)
        location = spec.s3_location()
        model_data_source = None
        if location is not None:
            model_data_source = sagemaker.CfnModel.ModelDataSourceProperty(
                s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                    s3_uri=spec.s3_uri or "", s3_data_type="S3Prefix", compression_type="None"
                )
            )
        self.resource = sagemaker.CfnModel(
            self,
            "Resource",
            execution_role_arn=role.role_arn,
            enable_network_isolation=spec.network_isolation,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image.image_uri,
                environment=self.environment,
                model_data_source=model_data_source,
            ),
        )
        # ExecutionRoleArn is a GetAtt of the role, whose ManagedPolicyArns reference the policy, so
        # CreateModel runs only once the role has its permissions.
        if location is not None and not spec.network_isolation:
            acknowledge(
                self.resource,
                "NetworkIsolationForS3Weights",
                f"The config sets {field}.enable_network_isolation: false, so the container may reach the "
                "network although its weights come from S3.",
                packs=(KIT,),
            )
        if not spec.network_isolation:
            self.resource.add_metadata(
                "checkov",
                {
                    "skip": [
                        {
                            "id": "CKV_AWS_370",
                            "comment": "The container downloads the weights from the Hugging Face Hub "
                            "(hf_model_id), which network isolation would block; use s3_uri to isolate.",
                        }
                    ]
                },
            )

    @property
    def model_name(self) -> str:
        return self.resource.attr_model_name
