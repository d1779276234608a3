"""Stream a deployed model's answer token by token with the OpenAI SDK.

python examples/openai_streaming.py cdk-outputs.json [--stack NAME] [--model-key KEY]
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
    with openai_client(stack=stack, model_key=model.key) as client:
        stream = client.chat.completions.create(
            model=model.served_model_name,
            messages=[{"role": "user", "content": "Write a haiku about GPUs waking up."}],
            max_tokens=256,
            stream=True,
            # vLLM reports usage in a last chunk only when asked.
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
            if chunk.usage is not None:
                print(f"\n[{chunk.usage.completion_tokens} completion tokens]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
