package main

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/config"
	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/internal/offload"
	"github.com/avatarbus/avatarbus/internal/platformapi"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

// confirmTimeout bounds the platform API call of a `confirm: fetch` source; past it the request is
// answered 503 and the platform retries.
const confirmTimeout = 5 * time.Second

// buildSources turns configured sources into ingest sources. config.CheckPlatforms checks what
// only the platforms know; the confirmers' problems are added to its, so every problem is
// reported at once.
func buildSources(cfg *config.Config, reg *platform.Registry) ([]ingest.Source, error) {
	checked := cfg.CheckPlatforms(reg)
	var out []ingest.Source
	var errs []error
	for i, src := range cfg.Sources {
		path := fmt.Sprintf("sources[%d] (%s)", i, src.Name)
		p, ok := reg.Lookup(src.Platform)
		if !ok {
			continue // reported by CheckPlatforms
		}
		vc := src.VerifyConfig(p)
		v, err := verify.New(vc)
		if err != nil {
			continue // reported by CheckPlatforms
		}
		var confirmer ingest.Confirmer
		if src.Confirm == "fetch" {
			var api config.API
			if src.API != nil {
				api = *src.API
			}
			c, err := platformapi.NewConfirmer(p, src.Name, src.Events, platformapi.Options{Base: api.Base, Key: api.Key, Timeout: confirmTimeout})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.confirm: %w", path, err))
				continue
			}
			confirmer = c
		}
		maxBody, off := largePayloads(p, src)
		out = append(out, ingest.Source{Name: src.Name, Preset: p, Verifier: v, MaxBody: maxBody, Events: src.Events,
			RateLimit: rateLimit(src.RateLimit), SecretHeaders: secretHeaders(vc), Confirmer: confirmer, Offload: off})
	}
	switch {
	case checked != nil && len(errs) > 0:
		return nil, fmt.Errorf("%w\n%w", checked, errors.Join(errs...))
	case checked != nil:
		return nil, checked
	case len(errs) > 0:
		return nil, fmt.Errorf("%w: %w", config.ErrInvalid, errors.Join(errs...))
	}
	return out, nil
}

// largePayloads is a source's body limit and offload policy: its max_body and offload_above, or
// where they are 0 its platform's defaults (platform.LargeFielder), and the platform's large fields.
func largePayloads(p platform.Preset, src config.Source) (maxBody int64, off offload.Policy) {
	large := platform.LargeFieldsOf(p)
	maxBody = cmp.Or(int64(src.MaxBody), large.MaxBody, int64(config.DefaultMaxBody))
	return maxBody, offload.Policy{Above: cmp.Or(int64(src.OffloadAbove), large.OffloadAbove), Fields: large.Fields}
}

// brokerConfig translates the service config into the broker's.
func brokerConfig(cfg *config.Config) (broker.Config, error) {
	emb := broker.EmbeddedConfig{
		Listen:     cfg.NATS.Embedded.Listen,
		StoreDir:   cfg.NATS.Embedded.StoreDir,
		ServerName: cfg.NATS.Embedded.ServerName,
		NoAuth:     !cfg.NATS.Embedded.Auth,
		// The default file is the config's, so serve and the CLI commands agree on it.
		CredentialsFile: cfg.NATS.Embedded.CredentialsPath(),
		Credentials:     givenCredentials(cfg),
	}
	switch si := cfg.NATS.Embedded.SyncInterval; si {
	case "always":
		emb.SyncAlways = true
	default:
		d, err := time.ParseDuration(si)
		if err != nil || d <= 0 {
			return broker.Config{}, fmt.Errorf("%w: nats.embedded.sync_interval %q: want \"always\" or a positive duration", config.ErrInvalid, si)
		}
		emb.SyncInterval = d
	}
	return broker.Config{
		Conn:     connConfig(cfg),
		Embedded: emb,
		Stream: broker.StreamConfig{
			Name:       cfg.Stream.Name,
			Subjects:   subjects.StreamSubjects(cfg.Stream.SubjectPrefix),
			Replicas:   cfg.Stream.Replicas,
			MaxAge:     cfg.Stream.MaxAge.Std(),
			Duplicates: cfg.Stream.DuplicateWindow.Std(),
			MaxBytes:   int64(cfg.Stream.MaxBytes),
			// Only batch mode needs it; it is never turned off (broker.StreamConfig).
			AtomicPublish: cfg.NATS.EffectivePublishMode() == config.PublishBatch,
		},
		PublishTimeout:     cfg.NATS.PublishTimeout.Std(),
		StorageFailureExit: cfg.NATS.StorageFailureExit.Std(),
		Quarantine:         quarantineConfig(cfg),
		// Objects live as long as the events that refer to them.
		Objects: &broker.ObjectsConfig{Bucket: cfg.ObjectsBucket(), Replicas: cfg.Stream.Replicas, TTL: cfg.Stream.MaxAge.Std()},
	}, nil
}

// eventPublisher is the publisher of the ingest tier for nats.publish_mode (docs/publish-modes.md),
// and logs which one was chosen and why. The poller and the CLI commands keep the async Publisher:
// they publish one event at a time, where a batch would only add a wait.
func eventPublisher(cfg *config.Config, b *broker.Broker, log zerolog.Logger) ingest.Publisher {
	mode := cfg.NATS.EffectivePublishMode()
	line := log.Info().Str("publish_mode", mode)
	if cfg.NATS.PublishMode == "" {
		line = line.Str("chosen_by", "default")
	}
	fsyncAlways := cfg.NATS.URL == "" && cfg.NATS.Embedded.SyncInterval == "always"
	if mode == config.PublishBatch {
		line.Msg("publishing events by group commit into JetStream atomic batches")
		return b.BatchPublisher(broker.BatchConfig{})
	}
	line.Msg("publishing events one by one, pipelined")
	if fsyncAlways {
		log.Warn().Str("publish_mode", mode).Msg("nats.publish_mode async with nats.embedded.sync_interval always: " +
			"the server fsyncs once per event, which caps the rate at a fraction of batch mode's " +
			"(about a quarter, issue 17's measurements); set publish_mode batch or leave it unset unless you need async")
	}
	return b.Publisher()
}

// connConfig is how to reach nats.url, as the connection "avatarbus".
func connConfig(cfg *config.Config) broker.ConnConfig {
	n := cfg.NATS
	return broker.ConnConfig{
		URL: n.URL, Creds: n.Creds, User: n.User, Password: n.Password, Token: n.Token, Name: "avatarbus",
		PingInterval: n.PingInterval.Std(),
		TLS:          broker.TLSConfig{CA: n.TLS.CA, Cert: n.TLS.Cert, Key: n.TLS.Key, InsecureSkipVerify: n.TLS.InsecureSkipVerify},
	}
}

// quarantineConfig is the broker's quarantine stream, or nil when quarantine.enabled is off.
func quarantineConfig(cfg *config.Config) *broker.QuarantineConfig {
	if !cfg.Quarantine.Enabled {
		return nil
	}
	return &broker.QuarantineConfig{
		Name:     cfg.QuarantineStream(),
		Subjects: subjects.QuarantineSubjects(cfg.Stream.SubjectPrefix),
		Replicas: cfg.QuarantineReplicas(),
		MaxAge:   cfg.Quarantine.MaxAge.Std(),
		MaxBytes: int64(cfg.Quarantine.MaxBytes),
	}
}

// quarantineOf is what ingest.Config.Quarantine gets: b's quarantine, or a nil interface when
// quarantine is off (a nil *broker.Quarantine in the interface would look set).
func quarantineOf(b *broker.Broker) ingest.Quarantine {
	if q := b.Quarantine(); q != nil {
		return q
	}
	return nil
}

// objectsOf is what ingest.Config.Objects gets: b's object store, or a nil interface when it has
// none (a nil *broker.Objects in the interface would look set).
func objectsOf(b *broker.Broker) offload.Store {
	if o := b.Objects(); o != nil {
		return o
	}
	return nil
}

// httpConfig translates the http block into the ingest server's limits.
func httpConfig(cfg *config.Config) ingest.HTTPConfig {
	h := cfg.HTTP
	return ingest.HTTPConfig{
		ReadHeaderTimeout:   h.ReadHeaderTimeout.Std(),
		ReadTimeout:         h.ReadTimeout.Std(),
		WriteTimeout:        h.WriteTimeout.Std(),
		IdleTimeout:         h.IdleTimeout.Std(),
		MaxHeaderBytes:      int(h.MaxHeaderBytes),
		MaxConnections:      h.MaxConnections,
		PressureIdleTimeout: h.PressureIdleTimeout.Std(),
		// 0 is sized for the machine by ingest.DefaultMaxBodyBytesInFlight.
		MaxBodyBytesInFlight: int64(h.MaxBodyBytesInFlight),
		BodyWait:             h.BodyWait.Std(),
	}
}

// rateLimit translates a source's rate_limit; nil is unlimited.
func rateLimit(rl *config.RateLimit) *ingest.RateLimit {
	if rl == nil {
		return nil
	}
	return &ingest.RateLimit{RPS: rl.RPS, Burst: rl.Burst, UnverifiedRPS: rl.Unverified.RPS, UnverifiedBurst: rl.Unverified.Burst}
}

// secretHeaders names the headers of a source that carry its secret as is: the token scheme's
// header (its query parameter is never kept at all). They are masked in quarantined copies.
func secretHeaders(vc verify.Config) []string {
	if vc.Scheme == "token" && vc.Header != "" {
		return []string{vc.Header}
	}
	return nil
}
