"""The vLLM DLC image: one template for every region, or a full image URI for one region."""

from aws_cdk import Aws, CfnMapping, CfnRule, Fn, Stack
from constructs import Construct

from sagemaker_openai.catalog import images
from sagemaker_openai.config import ImageSpec


class VllmImage(Construct):
    """The image URI and ECR repository ARN for a vLLM DLC release.

    Without ``spec.uri`` the registry account is looked up per region from a CfnMapping built from
    sagemaker-core's registry file, and a CloudFormation rule stops a deploy to a region that has no
    image. With ``spec.uri`` the image is used as given and a rule pins the deploy to its region.
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: ImageSpec) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.inference_ami_version = spec.default_ami_version()
        if spec.uri is not None:
            location = images.parse_image_uri(spec.uri)
            self.image_uri: str = spec.uri
            self.repository_arn: str = Stack.of(self).format_arn(
                service="ecr",
                region=location.region,
                account=location.account,
                resource="repository",
                resource_name=location.repository,
            )
            CfnRule(
                self,
                "ImageRegion",
                assertions=[
                    {
                        "assert": Fn.condition_equals(Aws.REGION, location.region),
                        "assertDescription": (
                            f"image.uri is an image in {location.region}; deploy to that region "
                            "or use an image of the target region"
                        ),
                    }
                ],
            )
            return

        release = images.vllm_release(spec.vllm_version)
        mapping = CfnMapping(
            self,
            "Registry",
            mapping={region: {"account": account} for region, account in sorted(release.registries.items())},
        )
        account = mapping.find_in_map(Aws.REGION, "account")
        self.image_uri = Fn.join(
            "",
            [account, ".dkr.ecr.", Aws.REGION, ".", Aws.URL_SUFFIX, f"/{release.repository}:{release.tag}"],
        )
        self.repository_arn = Stack.of(self).format_arn(
            service="ecr", account=account, resource="repository", resource_name=release.repository
        )
        CfnRule(
            self,
            "SupportedRegion",
            assertions=[
                {
                    "assert": Fn.condition_contains(release.regions, Aws.REGION),
                    "assertDescription": (
                        f"The vLLM DLC {release.version} is published in {', '.join(release.regions)}. "
                        "Deploy to one of them, or set image.uri to a full image URI."
                    ),
                }
            ],
        )
