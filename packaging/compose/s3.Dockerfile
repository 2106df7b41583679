# An S3 server for compose.yaml: s3rver 3.7 (npm) on Node.js from Debian,
# serving the bucket orch-artifacts from the /data volume on port 4569.
# Credentials S3RVER/S3RVER; it is lenient (docs/operations.md): keep it on
# the compose network, never expose it.
# BUILD_CA_PEM: behind a TLS-intercepting proxy, the proxy's CA (PEM text)
# for the npm download only: no file of it is left in the image (a CA
# certificate is public; the build argument shows in `docker history`).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
ARG BUILD_CA_PEM=""
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm curl ca-certificates \
 && if [ -n "$BUILD_CA_PEM" ]; then printf '%s\n' "$BUILD_CA_PEM" >/tmp/build-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi \
 && npm install -g --no-audit --no-fund --loglevel=error s3rver@3.7 \
 && rm -f /tmp/build-ca.pem \
 && npm cache clean --force \
 && apt-get purge -y npm && apt-get autoremove -y && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && install -d -o nobody -g nogroup /data
USER nobody
VOLUME ["/data"]
EXPOSE 4569
HEALTHCHECK --interval=5s --timeout=5s --retries=12 CMD ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:4569/"]
# --no-vhost-buckets: orchd reaches this server by its service name (s3)
# with path-style URLs; s3rver would take a host name that is not an IP or
# localhost for the bucket's name (virtual-host style) and answer
# NoSuchBucket for every artifact.
CMD ["s3rver", "-d", "/data", "-a", "0.0.0.0", "-p", "4569", "--no-vhost-buckets", "--configure-bucket", "orch-artifacts"]
