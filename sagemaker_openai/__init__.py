"""Open LLMs behind OpenAI-compatible URLs on Amazon SageMaker AI.

The package root stays free of aws_cdk, jsii and pydantic so that `sagemaker_openai.client` can be
used by applications that install the kit without its CDK extra.
"""

__version__ = "0.1.0"
