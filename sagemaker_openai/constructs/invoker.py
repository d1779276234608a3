"""Who may call the endpoint: a customer-managed policy, and a role that carries it."""

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_openai.constructs._nag import AWS_SOLUTIONS, acknowledge

# Opt-in: AWS's managed policy AmazonSageMakerJobRuntimeAccess narrows CallWithBearerToken this way for the
# job runtime; no AWS source says the key is present when the inference route evaluates the action.
SAME_ACCOUNT_CONDITION = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}


class InvokerPolicy(Construct):
    """``sagemaker:InvokeEndpoint`` on the given ARNs and ``sagemaker:CallWithBearerToken`` on ``*``.

    ``CallWithBearerToken`` follows AWS's example policy for the OpenAI-compatible route (``*``, no
    condition); ``restrict_bearer_token_to_account`` adds the ``aws:ResourceAccount`` condition of the job
    runtime's managed policy, unverified on this route. The policy is customer-managed so that it can be
    attached to existing roles, users and groups (``attach_to``), and so that no inline policy appears.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        invoke_arns: Sequence[str],
        restrict_bearer_token_to_account: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description="Call one SageMaker AI endpoint's OpenAI-compatible API with bearer tokens",
            statements=[
                iam.PolicyStatement(
                    sid="InvokeEndpoint", actions=["sagemaker:InvokeEndpoint"], resources=list(invoke_arns)
                ),
                iam.PolicyStatement(
                    sid="UseBearerTokens",
                    actions=["sagemaker:CallWithBearerToken"],
                    resources=["*"],
                    conditions=SAME_ACCOUNT_CONDITION if restrict_bearer_token_to_account else None,
                ),
            ],
        )
        acknowledge(
            self.policy,
            "IAM5[Resource::*]",
            "sagemaker:CallWithBearerToken has no resource types in the Service Authorization Reference, "
            "and AWS's example policy for the OpenAI-compatible route grants it on Resource *; a token "
            "reaches nothing by itself, since InvokeEndpoint is scoped to this endpoint's ARN.",
            packs=(AWS_SOLUTIONS,),
        )

    @property
    def policy_arn(self) -> str:
        return self.policy.managed_policy_arn

    def attach_to(self, grantee: iam.IGrantable) -> None:
        """Attach the policy to a role, user or group (managed policies attach to nothing else)."""
        principal = grantee.grant_principal
        if isinstance(principal, iam.Role | iam.LazyRole | iam.User | iam.Group):
            principal.add_managed_policy(self.policy)
        else:
            raise TypeError(
                f"grant_invoke needs an IAM role, user or group defined in this app; got {principal}. "
                "For an existing role use iam.Role.from_role_arn(..., mutable=True) and attach "
                "the InvokerPolicyArn output to it."
            )


class InvokerRole(Construct):
    """A role for clients that carries only the invoker policy.

    ``trusted_principals`` are account IDs or IAM ARNs; empty trusts the deploying account, whose own
    IAM policies then decide who may assume the role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy: InvokerPolicy,
        trusted_principals: Sequence[str] = (),
        max_session_hours: int = 1,
    ) -> None:
        super().__init__(scope, construct_id)
        principals: list[iam.IPrincipal] = [
            iam.AccountPrincipal(p) if p.isdigit() else iam.ArnPrincipal(p) for p in trusted_principals
        ] or [iam.AccountRootPrincipal()]
        self.role = iam.Role(
            self,
            "Resource",
            assumed_by=iam.CompositePrincipal(*principals) if len(principals) > 1 else principals[0],
            description="Calls the endpoint's OpenAI-compatible API with bearer tokens, and nothing else",
            managed_policies=[policy.policy],
            max_session_duration=Duration.hours(max_session_hours),
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
