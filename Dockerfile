# xaid container image: two stages on Debian 12.
#
# build:   debian:bookworm, the packages of deploy/packages/build.txt (the README's list, through
#          tools/install-deps, so the image and the machines cannot drift), then the xaid binary.
# runtime: debian:bookworm-slim, only deploy/packages/runtime.txt, the binary, the healthcheck
#          script and the bundled demo model, run as an unprivileged user.
#
# Configuration is by XAID_* environment variables only (docs/api.md has the list); the access
# log goes to stdout, diagnostics to stderr. No worker count is set here: xaid sizes its pool
# from the CPUs the container may use (cgroup quota and affinity), see docs/deployment.md.
#
# Models: the demo model is at /models/chest-demo. Mount a model repository over /models:
#   docker run --rm -p 8080:8080 --cpus 2 --memory 1g -v /srv/xaid-models:/models:ro xaid
#
# There is no Docker engine on the project's machines: deploy/check-dockerfile runs this file's
# steps in debootstrap roots, starts the result, and checks it (docs/deployment.md).

FROM debian:bookworm AS build
WORKDIR /src
COPY deploy/packages/ deploy/packages/
COPY tools/install-deps tools/install-deps
RUN tools/install-deps build && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY core/ core/
COPY api/ api/
COPY server/ server/
COPY bench/ bench/
COPY tools/embed_files.cmake tools/embed_files.cmake
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXAI_TESTS=OFF >/dev/null \
 && cmake --build build -j "$(nproc)" --target xaid \
 && strip build/xaid

FROM debian:bookworm-slim AS runtime
COPY deploy/packages/runtime.txt /tmp/xaid/deploy/packages/runtime.txt
COPY tools/install-deps /tmp/xaid/tools/install-deps
RUN /tmp/xaid/tools/install-deps runtime && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /tmp/xaid \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin xaid
COPY --from=build /src/build/xaid /usr/local/bin/xaid
COPY deploy/xaid-healthcheck /usr/local/bin/xaid-healthcheck
COPY models/ /models/
ENV XAID_LISTEN=0.0.0.0 XAID_PORT=8080 XAID_MODELS=/models
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["/usr/local/bin/xaid-healthcheck", "/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/xaid", "serve"]
