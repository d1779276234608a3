"""Call every model of an inference-component stack over one connection pool and one bearer token.

Each inference component has its own base URL on the same endpoint; `openai_clients` gives one OpenAI
client per model, all sharing the pool (TLS sessions and connections) and the token.

    python examples/two_components_one_pool.py cdk-outputs.json [--stack NAME]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from sagemaker_openai.client import StackOutputs, openai_clients


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outputs_file", help="the JSON `cdk deploy --outputs-file` wrote")
    parser.add_argument("--stack", help="the stack name, when the file holds several")
    args = parser.parse_args(argv)

    stack = StackOutputs.from_file(args.outputs_file, args.stack)
    clients = openai_clients(stack)
    try:
        for key, client in clients.items():
            completion = client.chat.completions.create(
                model=stack.models[key].served_model_name,
                messages=[{"role": "user", "content": "Introduce yourself in one sentence."}],
                max_tokens=128,
            )
            print(f"{key}: {completion.choices[0].message.content}")
    finally:
        # The clients share one pool: closing one closes it for all.
        next(iter(clients.values())).close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
