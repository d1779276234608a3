"""A Strands Agents agent, backed by a deployed model, that uses a tool.

The model needs tool calling: the kit's vLLM settings enable it (auto tool choice and a tool-call parser).

    pip install 'sagemaker-openai[examples]'
    python examples/strands_agent.py cdk-outputs.json [--stack NAME] [--model-key KEY]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from strands import Agent, tool
from strands.models.openai import OpenAIModel

from sagemaker_openai.client import StackOutputs, async_openai_client


@tool
def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: The text whose words to count.
    """
    return len(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outputs_file", help="the JSON `cdk deploy --outputs-file` wrote")
    parser.add_argument("--stack", help="the stack name, when the file holds several")
    parser.add_argument("--model-key", help="the model to use, when the stack serves several")
    args = parser.parse_args(argv)

    stack = StackOutputs.from_file(args.outputs_file, args.stack)
    target = stack.target(args.model_key)
    # Strands runs the agent on its own event loop; the client belongs to that one agent.
    model = OpenAIModel(
        client=async_openai_client(stack=stack, model_key=target.key),
        model_id=target.served_model_name,
        params={"max_tokens": 512, "stream_options": {"include_usage": True}},
    )
    agent = Agent(model=model, tools=[word_count], callback_handler=None)
    result = agent("Use the word_count tool: how many words are in 'the quick brown fox jumps'?")
    print(str(result).strip())
    print(f"tools used: {', '.join(sorted(result.metrics.tool_metrics)) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
