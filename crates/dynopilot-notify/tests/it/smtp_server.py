"""A real SMTP server on loopback for the email tests (aiosmtpd).

Usage: smtp_server.py OUTDIR PORT [USER PASSWORD]
Listens on 127.0.0.1:PORT (0 picks a free port), prints the port on the first line of stdout,
and writes every accepted message to OUTDIR/msg-N.json: the envelope, the raw data and the
message as Python's email parser reads it (decoded headers, each part's type and text). With
USER and PASSWORD, AUTH is required and only that pair is accepted. With SMTP_TLS=starttls or
SMTP_TLS=implicit in the environment it serves a self-signed certificate (made with the openssl
command in OUTDIR), which a client that checks certificates must refuse.
"""

import asyncio
import email
import email.policy
import json
import os
import ssl
import subprocess
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = [
            {"content_type": part.get_content_type(), "text": part.get_content()}
            for part in parsed.walk()
            if not part.is_multipart()
        ]
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "headers": {k.lower(): str(v) for k, v in parsed.items()},
            "content_type": parsed.get_content_type(),
            "parts": parts,
            "auth": session.authenticated,
        }
        tmp = os.path.join(self.outdir, f".msg-{n}.json")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.outdir, f"msg-{n}.json"))
        return f"250 OK queued as Q{n}"


def self_signed_context(outdir):
    cert, key = os.path.join(outdir, "cert.pem"), os.path.join(outdir, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def authenticator_for(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    outdir, port = sys.argv[1], int(sys.argv[2])
    options = {}
    if len(sys.argv) == 5:
        options = {
            "authenticator": authenticator_for(sys.argv[3], sys.argv[4]),
            "auth_required": True,
            "auth_require_tls": False,
        }
    tls = os.environ.get("SMTP_TLS", "none")
    wrap = None
    if tls == "starttls":
        options.update(tls_context=self_signed_context(outdir), require_starttls=True)
    elif tls == "implicit":
        wrap = self_signed_context(outdir)
    handler = Recorder(outdir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.test", **options), "127.0.0.1", port, ssl=wrap
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
