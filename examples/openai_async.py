"""Ask a deployed model several questions at once with the async OpenAI SDK.

All requests share one connection pool and one bearer token, minted once off the event loop.

    python examples/openai_async.py cdk-outputs.json [--stack NAME] [--model-key KEY]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from openai import AsyncOpenAI

from sagemaker_openai.client import StackOutputs, async_openai_client

QUESTIONS = (
    "Name one use of a large language model.",
    "What does an inference endpoint do?",
    "Why scale a model to zero copies?",
)


async def ask_all(client: AsyncOpenAI, model_name: str) -> list[str]:
    async def ask(question: str) -> str:
        completion = await client.chat.completions.create(
            model=model_name, messages=[{"role": "user", "content": question}], max_tokens=128
        )
        return completion.choices[0].message.content or ""

    return await asyncio.gather(*(ask(question) for question in QUESTIONS))


async def run(stack: StackOutputs, model_key: str | None) -> None:
    model = stack.target(model_key)
    async with async_openai_client(stack=stack, model_key=model.key) as client:
        answers = await ask_all(client, model.served_model_name)
    for question, answer in zip(QUESTIONS, answers, strict=True):
        print(f"Q: {question}\nA: {answer}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outputs_file", help="the JSON `cdk deploy --outputs-file` wrote")
    parser.add_argument("--stack", help="the stack name, when the file holds several")
    parser.add_argument("--model-key", help="the model to ask, when the stack serves several")
    args = parser.parse_args(argv)
    asyncio.run(run(StackOutputs.from_file(args.outputs_file, args.stack), args.model_key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
