"""A small web app on loopback instrumented with the official `judoscale` package (pinned in
.ci/run), configured only by its documented environment variables: JUDOSCALE_URL (pointed at
dynopilot's /agents/judoscale/<token>) and DYNO (the Heroku dyno name).

Web requests go through judoscale's own ASGI middleware, which reads X-Request-Start and
reports each request's queue time; a job backend stand-in registered as a judoscale adapter
reports the queue "default" (oldest job JOB_AGE_S seconds old, JOB_DEPTH jobs waiting) with
judoscale's own Metric constructors. The reporter posts v3 reports every second
(REPORT_INTERVAL_SECONDS, a documented setting, instead of 10 for a quick test).

Prints the port it listens on, then serves until killed.
"""

import asyncio
import os
import time

from judoscale.asgi.middleware import RequestQueueTimeMiddleware
from judoscale.core.adapter import Adapter, AdapterInfo
from judoscale.core.metric import Metric
from judoscale.core.reporter import reporter


class Middleware(RequestQueueTimeMiddleware):
    # The ASGI middleware names its framework's package for the adapter version; this app has
    # no framework, so it reports judoscale's own.
    platform = "judoscale"


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


class Jobs:
    """What a job-queue collector reports: the oldest job's wait and the queue depth."""

    should_collect = True
    report_metadata = {}

    def collect(self):
        age = float(os.environ.get("JOB_AGE_S", "60"))
        depth = int(os.environ.get("JOB_DEPTH", "50"))
        return [
            Metric.for_queue(queue_name="default", oldest_job_ts=time.time() - age),
            Metric.for_queue_depth(queue_name="default", depth=depth),
        ]


app = Middleware(hello, {"REPORT_INTERVAL_SECONDS": 1})
reporter.add_adapter(
    Adapter(identifier="judoscale-jobs", adapter_info=AdapterInfo(runtime_version="1"), metrics_collector=Jobs())
)


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.append((name.strip().lower().encode(), value.strip().encode()))
    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent[1:])
    writer.write(b"HTTP/1.1 %d OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (sent[0]["status"], len(body)) + body)
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
