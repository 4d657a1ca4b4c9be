// Package compose holds the production-shaped deployment of avatarbus and the tests that check
// it without a Docker engine: docker-compose.yml and the Dockerfile in the repository root, the
// NATS server configurations in deploy/nats/ and the avatarbus configuration deploy/avatarbus.yaml
// that the replicas mount. The package has no code; its tests load the compose file with
// compose-go, parse the nats-server configurations with nats-server's own parser, and load the
// avatarbus configuration with the environment the compose file gives each replica.
package compose
