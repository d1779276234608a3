"""The read-only AWS actions that `make preflight` calls, one constant that the CI access role is built from.

The pre-flight prints ``skipped: needs <action>`` when a check is denied, so a role given exactly these
actions runs every check; the CI access stack grants them and nothing more for the pre-flight.
"""

# (action, why the pre-flight calls it)
PREFLIGHT_READ_ACTIONS: tuple[tuple[str, str], ...] = (
    ("sts:GetCallerIdentity", "which account the credentials belong to"),
    ("ssm:GetParameter", "the CDK bootstrap version parameter of the account and region"),
    ("servicequotas:ListServiceQuotas", "the applied '<instance type> for endpoint usage' quota"),
    ("servicequotas:ListAWSDefaultServiceQuotas", "that quota's default value when none is applied"),
    ("sagemaker:ListEndpoints", "the endpoints that hold instances of the instance type"),
    ("sagemaker:DescribeEndpoint", "how many instances each endpoint holds"),
    ("sagemaker:DescribeEndpointConfig", "the instance type of each endpoint's variants"),
    ("s3:GetBucketLocation", "that the weights bucket is in the endpoint's region"),
    ("s3:ListBucket", "that the weights prefix holds config.json and weights"),
    ("s3:GetObject", "that config.json is readable, its encryption key, and the staging manifest"),
    ("kms:DescribeKey", "whether the weights' KMS key is customer managed"),
    ("kms:GetKeyPolicy", "that kms.key_arn's policy lets the stack's services use the key"),
    ("ec2:DescribeSubnets", "that vpc.subnet_ids exist, in two Availability Zones"),
    ("ec2:DescribeSecurityGroups", "that vpc.security_group_ids exist, in the subnets' VPC"),
    (
        "ec2:DescribeRouteTables",
        "that vpc.subnet_ids route to S3 or through a NAT gateway, as the weights need",
    ),
    ("ec2:DescribeVpcEndpoints", "which route tables hold an S3 gateway endpoint"),
    (
        "sns:GetTopicAttributes",
        "that monitoring.sns_topic_arn's policy (and key) let CloudWatch alarms publish",
    ),
    ("iam:GetRole", "that each invoker.trusted_principals role of the account exists"),
    ("iam:GetUser", "that each invoker.trusted_principals user of the account exists"),
    ("logs:DescribeLogGroups", "that no log group the stack creates exists already"),
    ("cloudformation:ListStackResources", "which existing log groups the stack already owns"),
    ("pricing:GetProducts", "the on-demand hosting price of the instance type (Price List API)"),
)

# Every call `sagemaker-openai leftovers` makes (kept here, beside the pre-flight's, so that the constructs
# need not import the client); the CI access role grants them for the canary's leftover check.
LEFTOVERS_READ_ACTIONS = (
    "cloudformation:DescribeStacks",
    "tag:GetResources",
    "iam:ListRoles",
    "iam:ListRoleTags",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeInferenceComponent",
    "logs:DescribeLogGroups",
)
