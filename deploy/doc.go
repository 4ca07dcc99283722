// Package deploy holds braid's deployment files (systemd, Kubernetes, Helm) and monitoring (Prometheus alert rules, a Grafana dashboard); its tests check that they stay valid and name only metrics braid registers.
package deploy
