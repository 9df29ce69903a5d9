# dynopilot as a container: build with the Rust toolchain, run from a slim Debian image as a
# non-root user. The daemon listens on 0.0.0.0:$PORT (Heroku's container stack sets PORT).
# Build: docker build -t dynopilot .    Run: see docs/deploy.md.

FROM rust:1.94-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p dynopilot \
 && cp target/release/dynopilot /usr/local/bin/dynopilot

FROM debian:bookworm-slim
# CA roots for the Platform API over TLS; nothing else is needed at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/dynopilot --create-home dynopilot
COPY --from=build /usr/local/bin/dynopilot /usr/local/bin/dynopilot
USER dynopilot
WORKDIR /var/lib/dynopilot
# SQLite in the user's home unless DATABASE_URL names a Postgres store.
ENV PORT=8080 \
    DATABASE_URL=sqlite:///var/lib/dynopilot/dynopilot.sqlite
EXPOSE 8080
# 200 only while the store answers and the policy runner ticks (see docs/store-health.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["dynopilot", "healthcheck"]
CMD ["dynopilot", "run"]
