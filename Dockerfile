# xaid container image: build stage with the same package list as the README, slim runtime.
# (The full deployment story — compose, Kubernetes, checks without a Docker engine — is issue 7.)
FROM debian:bookworm AS build
WORKDIR /src
COPY deploy/packages/ deploy/packages/
COPY tools/install-deps tools/install-deps
RUN tools/install-deps build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXAI_TESTS=OFF && cmake --build build -j "$(nproc)"

FROM debian:bookworm-slim
COPY deploy/packages/runtime.txt /tmp/runtime.txt
RUN apt-get update -qq \
 && sed -e 's/#.*//' -e '/^\s*$/d' /tmp/runtime.txt | xargs apt-get install -y -qq --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime.txt \
 && useradd --system --uid 10001 --no-create-home xaid
COPY --from=build /src/build/xaid /usr/local/bin/xaid
COPY models/ /models/
USER 10001
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/xaid"]
CMD ["serve"]
