package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// natsServerConfig is the shared nats-server's configuration file. With sync "always", JetStream
// fsyncs before every ack: `sync_interval: always` in the jetstream block sets Options.SyncAlways
// (nats-io/nats-server v2.15.2 server/opts.go, parseJetStream, case "sync", "sync_interval":
// CONFIRMED). "default" leaves the server's default (an fsync every 2 minutes).
func natsServerConfig(listen, storeDir, sync string) string {
	syncLine := ""
	if sync == "always" {
		syncLine = "\n  sync_interval: always"
	}
	return fmt.Sprintf("listen: %q\nserver_name: bench\njetstream {\n  store_dir: %q%s\n}\n", listen, storeDir, syncLine)
}

// startNATSServer writes the configuration into dir and starts nats-server with it.
func startNATSServer(dir, bin, host, port, sync string) (*child, error) {
	conf := filepath.Join(dir, "nats-server.conf")
	text := natsServerConfig(host+":"+port, filepath.Join(dir, "jetstream"), sync)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	return startChild(dir, "nats-server", bin, "-c", conf)
}
