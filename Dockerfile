# syntax=docker/dockerfile:1
# avatarbus image: a static binary on distroless, running as non-root (uid 65532).
#   docker build -t avatarbus .
#   docker run --rm -p 8080:8080 -v $PWD/avatarbus.yaml:/etc/avatarbus/avatarbus.yaml:ro avatarbus
# docker-compose.yml builds it for its two replicas; test/compose/compose_test.go checks this file.

# The Go version must be at least go.mod's go line (the image's GOTOOLCHAIN is local).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w" -o /out/avatarbus ./cmd/avatarbus

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell and no package manager
# (so no wget either: `/avatarbus healthcheck` asks the admin port's /readyz; docker-compose.yml
# uses it as the replicas' healthcheck).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/avatarbus /avatarbus
USER 65532:65532
# 8080: webhooks (listen); 9090: /metrics, /healthz, /readyz (admin_listen, which defaults to
# 127.0.0.1:9090: set it to 0.0.0.0:9090 to reach it from outside the container).
EXPOSE 8080 9090
ENTRYPOINT ["/avatarbus"]
CMD ["serve", "--config", "/etc/avatarbus/avatarbus.yaml"]
