#!/usr/bin/env python3
"""CDK entry point of the CI access stack: `make ci-access|ci-access-synth GITHUB_REPO=OWNER/NAME`."""

import sys

import aws_cdk as cdk

from sagemaker_openai.errors import ConfigError
from stacks.ci_access_stack import CONTEXT_KEYS, build_ci_access_app, ci_access_props

app = cdk.App()
try:
    props = ci_access_props({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})
except ConfigError as exc:
    sys.exit(f"Error: {exc}")
build_ci_access_app(props, app=app)
app.synth()
