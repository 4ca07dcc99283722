// Package deploy holds braid's deployment files (systemd, Kubernetes, Helm); its tests check that they stay valid.
package deploy
