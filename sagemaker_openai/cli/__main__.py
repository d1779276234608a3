"""`python -m sagemaker_openai.cli`: the same as the `sagemaker-openai` command."""

from sagemaker_openai.cli.main import main

raise SystemExit(main())
