"""invoker.trusted_principals: IAM refuses a trust policy that names a role or user that does not exist."""

from __future__ import annotations

from botocore.exceptions import ClientError

from sagemaker_openai.preflight.report import (
    Context,
    Finding,
    Skipped,
    error_code,
    info,
    needs,
    ok,
    problem,
    skipped,
)


def _check_one(ctx: Context, principal: str) -> Finding:
    name = "trusted principal"
    if principal.isdigit() or principal.endswith(":root"):
        return ok(name, f"{principal} (an account: nothing to look up)")
    account = principal.split(":")[4]
    if account != ctx.account:
        return info(name, f"{principal} is in account {account}; only that account can look it up")
    kind, _, path = principal.split(":", 5)[5].partition("/")
    entity = path.rsplit("/", 1)[-1]
    try:
        if kind == "role":
            with needs("iam:GetRole"):
                ctx.client("iam").get_role(RoleName=entity)
        else:
            with needs("iam:GetUser"):
                ctx.client("iam").get_user(UserName=entity)
    except Skipped as denied:
        return skipped(name, f"{principal}: skipped: needs {denied.action}")
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return problem(
                name,
                f"{principal} does not exist; IAM refuses a trust policy that names it: create it or "
                "remove it from invoker.trusted_principals",
            )
        raise
    return ok(name, f"{principal} exists")


def check_trusted_principals(ctx: Context) -> list[Finding]:
    return [_check_one(ctx, p) for p in ctx.config.invoker.trusted_principals]
