#!/usr/bin/env python3
"""CDK entry point: read the deployment config named by ``-c config=PATH``, build its stack, synth."""

import sys

import aws_cdk as cdk

from sagemaker_openai.config import DEFAULT_CONFIG_PATH, collect_warnings, load_config
from sagemaker_openai.errors import ConfigError
from stacks import build_app

app = cdk.App()
config_path = app.node.try_get_context("config") or DEFAULT_CONFIG_PATH
try:
    config = load_config(config_path, stack_name=app.node.try_get_context("stack_name"))
    build_app(config, app=app)
except ConfigError as exc:
    sys.exit(f"Error: {exc}")
for line in collect_warnings(config):
    print(f"Warning: {config_path}: {line}", file=sys.stderr)
app.synth()
