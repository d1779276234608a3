"""`python -m sagemaker_openai.client`: the same as the `sagemaker-openai` command."""

from sagemaker_openai.client.cli import main

raise SystemExit(main())
