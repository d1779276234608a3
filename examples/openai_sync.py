"""Ask a deployed model one question with the OpenAI SDK (synchronous).

python examples/openai_sync.py cdk-outputs.json [--stack NAME] [--model-key KEY]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from sagemaker_openai.client import StackOutputs, openai_client


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outputs_file", help="the JSON `cdk deploy --outputs-file` wrote")
    parser.add_argument("--stack", help="the stack name, when the file holds several")
    parser.add_argument("--model-key", help="the model to ask, when the stack serves several")
    args = parser.parse_args(argv)

    stack = StackOutputs.from_file(args.outputs_file, args.stack)
    model = stack.target(args.model_key)
    # The client signs a bearer token with your AWS credentials and renews it before it expires.
    with openai_client(stack=stack, model_key=model.key) as client:
        completion = client.chat.completions.create(
            model=model.served_model_name,
            messages=[{"role": "user", "content": "In one sentence, what is Amazon SageMaker AI?"}],
            max_tokens=256,
        )
    print(completion.choices[0].message.content)
    usage = completion.usage
    if usage is not None:
        print(f"[{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
