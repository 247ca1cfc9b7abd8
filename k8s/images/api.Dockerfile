# bangui-api (and bangui-migrate for the migration Job).
#   docker build -f k8s/images/api.Dockerfile -t ghcr.io/bangui/bangui-api:0.1.0 .
# Runs as uid 65532 with a read-only root filesystem; listens on BANGUI_API_ADDR
# (the manifests set 0.0.0.0:8080).
# The web UI, embedded into the binary at compile time.
FROM node:20-bookworm-slim AS ui
WORKDIR /src
COPY api/openapi.json api/openapi.json
COPY frontend/ frontend/
RUN cd frontend && npm ci --no-audit --no-fund && npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=ui /src/frontend/dist frontend/dist
RUN cargo build --release --locked -p api -p migrations \
 && cp target/release/bangui-api target/release/bangui-migrate /usr/local/bin/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/bangui-api /usr/local/bin/bangui-migrate /usr/local/bin/
USER 65532:65532
ENV BANGUI_API_ADDR=0.0.0.0:8080 BANGUI_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bangui-api"]
