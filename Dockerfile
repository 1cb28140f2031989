# syntax=docker/dockerfile:1
# Tollgate in a container (docs/docker.md): the console built with Node, the binary built static
# (musl) so the last stage needs no libc, run as a non-root user from a distroless image.
#   docker build -t tollgate --build-arg TOLLGATE_GIT_REV=$(git rev-parse --short=12 HEAD) .

FROM node:22-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:1-bookworm AS build
# musl-tools: the C parts (SQLite, ring) are compiled for musl too.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
COPY --from=web /src/web/dist web/dist
# .git is not sent to the builder (.dockerignore): the revision comes in as an argument.
ARG TOLLGATE_GIT_REV=unknown
ENV TOLLGATE_GIT_REV=${TOLLGATE_GIT_REV}
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p tollgate-server --bin tollgate \
 && cp target/x86_64-unknown-linux-musl/release/tollgate /tollgate \
 && mkdir -p /data
# 65532 is distroless's "nonroot" user: the data folder must be its own.

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /tollgate /usr/local/bin/tollgate
COPY --from=build --chown=65532:65532 /data /data
USER 65532:65532
WORKDIR /data
ENV TOLLGATE_LISTEN=0.0.0.0:8080 \
    TOLLGATE_DATA_DIR=/data \
    TOLLGATE_DATABASE_URL=sqlite:///data/tollgate.db
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tollgate"]
CMD ["serve"]
