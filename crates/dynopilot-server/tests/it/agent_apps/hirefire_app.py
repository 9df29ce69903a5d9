"""A small WSGI app on loopback instrumented with the official `hirefire-resource` package
(pinned in .ci/run), configured by its documented environment variables: HIREFIRE_TOKEN and
HIREFIRE_DISPATCH_URL (dynopilot's host and port).

- Pull: `GET /hirefire/<HIREFIRE_TOKEN>/info` is answered by the library's own middleware
  function with one entry per configured worker (`worker`: JOB_DEPTH jobs waiting).
- Push: every request's X-Request-Start goes through the same middleware, and the library's
  dispatcher thread posts the web queue times to HIREFIRE_DISPATCH_URL every second. The
  library always speaks HTTPS there (Heroku's router terminates TLS in front of dynopilot); on
  loopback this app lets it speak plain HTTP by handing http.client's HTTPSConnection the plain
  HTTPConnection, and changes nothing else.

Prints the port it listens on, then serves until killed.
"""

import http.client
import os
from wsgiref.simple_server import WSGIRequestHandler, make_server

http.client.HTTPSConnection = http.client.HTTPConnection

from hirefire_resource import HireFire  # noqa: E402
from hirefire_resource.middleware import RequestInfo  # noqa: E402
from hirefire_resource.middleware.wsgi import request as hirefire_request  # noqa: E402

with HireFire.configure() as config:
    config.dyno("web")
    config.dyno("worker", lambda: int(os.environ.get("JOB_DEPTH", "50")))


def app(environ, start_response):
    info = RequestInfo(
        path=environ.get("PATH_INFO", ""),
        request_start_time=environ.get("HTTP_X_REQUEST_START"),
        token=environ.get("HTTP_HIREFIRE_TOKEN"),
    )
    answer = hirefire_request(info)
    if answer:
        status, headers, body = answer
        start_response(f"{status} OK", list(headers.items()))
        return [b.encode() for b in body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
