# glsyncd container image: a static binary on a distroless base, run as an
# unprivileged user. Build: docker build -t glsyncd .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# modernc.org/sqlite is pure Go, so CGO stays off and the binary is static.
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" -o /out/glsyncd ./daemon/cmd/glsyncd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/glsyncd /usr/local/bin/glsyncd
# The embedded catalog lives here; mount a volume to keep it.
ENV GLSYNC_DATA_DIR=/data \
    GLSYNC_LISTEN=:8000 \
    GLSYNC_ADMIN_LISTEN=:8001 \
    GLSYNC_METRICS_LISTEN=:9090
VOLUME ["/data"]
EXPOSE 8000 8001 9090
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/glsyncd"]
CMD ["run"]
