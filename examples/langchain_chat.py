"""Use a deployed model from LangChain (langchain-openai's ChatOpenAI), invoking and streaming.

pip install 'sagemaker-openai[examples]'
python examples/langchain_chat.py cdk-outputs.json [--stack NAME] [--model-key KEY]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from langchain_openai import ChatOpenAI

from sagemaker_openai.client import BearerTokenAuth, StackOutputs, async_connection_pool, connection_pool
from sagemaker_openai.client.factories import API_KEY_PLACEHOLDER, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT


def chat_model(stack: StackOutputs, model_key: str | None) -> ChatOpenAI:
    model = stack.target(model_key)
    auth = BearerTokenAuth(stack.region)  # one token for both the sync and the async pool
    return ChatOpenAI(
        model=model.served_model_name,
        base_url=model.base_url,
        api_key=API_KEY_PLACEHOLDER,  # required by the SDK; the auth replaces it with the bearer token
        http_client=connection_pool(auth=auth),
        http_async_client=async_connection_pool(auth=auth),
        timeout=DEFAULT_TIMEOUT,
        max_retries=DEFAULT_MAX_RETRIES,
        max_completion_tokens=256,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outputs_file", help="the JSON `cdk deploy --outputs-file` wrote")
    parser.add_argument("--stack", help="the stack name, when the file holds several")
    parser.add_argument("--model-key", help="the model to ask, when the stack serves several")
    args = parser.parse_args(argv)

    llm = chat_model(StackOutputs.from_file(args.outputs_file, args.stack), args.model_key)
    reply = llm.invoke([("system", "You answer briefly."), ("human", "What is LangChain?")])
    print(reply.content)
    for chunk in llm.stream("Count from one to five."):
        print(chunk.content, end="", flush=True)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
