# bangui-scheduler, with Debian's fail2ban package for the `fail2ban-client` program
# (reloads, starting stopped jails); the fail2ban daemon itself stays on the host.
#   docker build -f k8s/images/scheduler.Dockerfile -t ghcr.io/bangui/bangui-scheduler:0.1.0 .
# Runs as root (fail2ban's socket is root-only, mode 0700) without capabilities; serves
# /healthz and /metrics on BANGUI_SCHEDULER_ADDR (the manifests set 0.0.0.0:9090).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p scheduler -p migrations \
 && cp target/release/bangui-scheduler target/release/bangui-migrate /usr/local/bin/

# The offline geo data, from the npm registry at build time (exact versions from the lock).
FROM node:20-bookworm-slim AS geo
WORKDIR /geo
COPY scheduler/geo/package.json scheduler/geo/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates fail2ban \
 && rm -rf /var/lib/apt/lists/* /etc/fail2ban/jail.d/*
COPY --from=build /usr/local/bin/bangui-scheduler /usr/local/bin/bangui-migrate /usr/local/bin/
COPY --from=geo /geo/node_modules/@ip-location-db /usr/share/bangui/geo
ENV BANGUI_GEOIP_COUNTRY_DB=/usr/share/bangui/geo/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb \
    BANGUI_GEOIP_ASN_DB=/usr/share/bangui/geo/asn/asn-ipv4.csv,/usr/share/bangui/geo/asn/asn-ipv6.csv \
    BANGUI_SCHEDULER_ADDR=0.0.0.0:9090 BANGUI_LOG_FORMAT=json \
    BANGUI_FAIL2BAN_SOCKET=/run/fail2ban/fail2ban.sock BANGUI_FAIL2BAN_CLIENT=/usr/bin/fail2ban-client
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/bangui-scheduler"]
