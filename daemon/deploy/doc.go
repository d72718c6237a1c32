// Package deploy holds the ways users run glsyncd: the Helm chart in
// helm/glsync and the systemd unit in systemd/. Its test renders the chart
// with the integration's documented values and checks what reaches the
// container.
package deploy
