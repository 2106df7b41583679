# An S3 server for compose.yaml: s3rver 3.7 (npm) on Node.js from Debian,
# serving the bucket orch-artifacts from the /data volume on port 4569.
# Credentials S3RVER/S3RVER; it is lenient (docs/operations.md): keep it on
# the compose network, never expose it.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm curl ca-certificates \
 && npm install -g --no-audit --no-fund --loglevel=error s3rver@3.7 \
 && npm cache clean --force \
 && apt-get purge -y npm && apt-get autoremove -y && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && install -d -o nobody -g nogroup /data
USER nobody
VOLUME ["/data"]
EXPOSE 4569
HEALTHCHECK --interval=5s --timeout=5s --retries=12 CMD ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:4569/"]
CMD ["s3rver", "-d", "/data", "-a", "0.0.0.0", "-p", "4569", "--configure-bucket", "orch-artifacts"]
