"""The floor under the proxy's benchmark: a relay that does no HTTP work, on the same asyncio event loop.

It reads a request, sends its body to local-runtime with one token minted at start, and copies the
answer's bytes back as they arrive, without parsing them: what relaying a streamed answer costs on this
machine before any HTTP library, routing or auth. Only for bench_proxy.py (one endpoint, keep-alive, no
error handling).

    .venv/bin/python bench/raw_relay.py RUNTIME_ORIGIN PATH
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit

from sagemaker_openai.client import BearerTokenAuth

_END_OF_CHUNKED_BODY = b"0\r\n\r\n"


async def serve(origin: str, path: str) -> None:
    upstream = urlsplit(origin)
    upstream_host, upstream_port = upstream.hostname, upstream.port
    token = BearerTokenAuth("us-east-1").token()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {upstream.netloc}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request_head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            length = next(
                int(line.split(b":", 1)[1])
                for line in request_head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            # local-runtime closes connections idle past its read timeout.
            while idle and idle[-1][0].at_eof():
                idle.pop()[1].close()
            up_reader, up_writer = (
                idle.pop() if idle else await asyncio.open_connection(upstream_host, upstream_port)
            )
            up_writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            # The answer's head first, so that a header ending in "0" is not taken for the body's end.
            writer.write(await up_reader.readuntil(b"\r\n\r\n"))
            tail = b""
            while True:
                data = await up_reader.read(65536)
                writer.write(data)
                tail = (tail + data)[-len(_END_OF_CHUNKED_BODY) :]
                if tail == _END_OF_CHUNKED_BODY or not data:
                    break
            idle.append((up_reader, up_writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    listening = server.sockets[0].getsockname()[1]
    print(f"raw relay listening on http://127.0.0.1:{listening}/v1", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
