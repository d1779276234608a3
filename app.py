#!/usr/bin/env python3
"""CDK entry point: read the deployment config named by ``-c config=PATH``, build its stack, synth."""

import sys

import aws_cdk as cdk

from sagemaker_openai.config import DEFAULT_CONFIG_PATH, load_config
from sagemaker_openai.constructs.expiry import expires_at, parse_expires_in_hours
from sagemaker_openai.errors import ConfigError
from stacks import build_app, synth_warnings

app = cdk.App()
config_path = app.node.try_get_context("config") or DEFAULT_CONFIG_PATH
try:
    config = load_config(config_path, stack_name=app.node.try_get_context("stack_name"))
    hours = parse_expires_in_hours(app.node.try_get_context("expires_in_hours"))
    build_app(config, app=app, expires_at=expires_at(hours) if hours else None)
except ConfigError as exc:
    sys.exit(f"Error: {exc}")
for line in synth_warnings(config):
    print(f"Warning: {config_path}: {line}", file=sys.stderr)
app.synth()
