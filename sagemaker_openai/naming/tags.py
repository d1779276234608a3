"""Tag keys the kit always applies, shared by the stacks (CDK side) and the leftover check (client side).

This module imports nothing, so the client can use it without loading the CDK.
"""

# On the stack and every resource of it, whatever the config's `tags` say: the stack's name. The
# leftover check finds resources by this key and reports those whose stack no longer exists.
KIT_TAG = "sagemaker-openai:stack"
# On every resource of a stack (not the stack): its region, so that the check of one region can tell which
# of the account's IAM roles (global, no region in their ARN) came from a stack of that region.
REGION_TAG = "sagemaker-openai:region"
# On a stack deployed with an expiry: when its schedule deletes it (ISO 8601, UTC, to the second).
EXPIRES_AT_TAG = "sagemaker-openai:expires-at"
# The format of EXPIRES_AT_TAG's value and of the ExpiresAt output.
EXPIRES_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
