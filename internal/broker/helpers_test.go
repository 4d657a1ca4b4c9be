package broker_test

import "github.com/nats-io/nats-server/v2/server"

type serverOpts = server.Options
