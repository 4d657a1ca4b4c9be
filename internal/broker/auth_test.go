package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
)

// TestExternalTLS connects to a real nats-server that requires TLS, and to one that also requires
// a client certificate, with the files an operator configures under nats.tls.
func TestExternalTLS(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	tests := []struct {
		name       string
		clientCert bool // the server demands a client certificate
		tls        broker.TLSConfig
		wantErr    string // "" when the connection must work
	}{
		{"ca", false, broker.TLSConfig{CA: pki.caFile}, ""},
		{"no ca: server certificate not trusted", false, broker.TLSConfig{}, "unknown authority"},
		{"insecure skip verify", false, broker.TLSConfig{InsecureSkipVerify: true}, ""},
		{"client certificate", true, broker.TLSConfig{CA: pki.caFile, Cert: pki.clientCert, Key: pki.clientKey}, ""},
		// TLS 1.3 reports the server's refusal after the handshake: as the alert ("certificate
		// required") or as the closed connection, whichever the client reads first.
		{"client certificate missing", true, broker.TLSConfig{CA: pki.caFile}, "tls"},
		{"cert without key", false, broker.TLSConfig{CA: pki.caFile, Cert: pki.clientCert}, "cert and key must be set together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := brokertest.Options(t.TempDir())
			tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
				CertFile: pki.serverCert, KeyFile: pki.serverKey, CaFile: pki.caFile, Verify: tt.clientCert,
			})
			if err != nil {
				t.Fatal(err)
			}
			opts.TLSConfig, opts.TLSVerify, opts.TLSTimeout = tc, tt.clientCert, 2
			srv := brokertest.RunWithOptions(t, opts)
			b, err := openExternal(broker.ConnConfig{URL: srv.ClientURL(), TLS: tt.tls})
			if tt.wantErr != "" {
				if err == nil {
					b.Close()
					t.Fatal("connected without the TLS material the server demands")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q does not say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			assertStores(t, b)
		})
	}
}

// TestExternalCreds connects with a .creds file (user JWT + seed) to a nats-server in operator
// mode, the way NGS/Synadia Cloud and decentralized-auth clusters are reached.
func TestExternalCreds(t *testing.T) {
	t.Parallel()
	opts := brokertest.Options(t.TempDir())
	creds := operatorMode(t, opts)
	srv := brokertest.RunWithOptions(t, opts)

	b, err := openExternal(broker.ConnConfig{URL: srv.ClientURL(), Creds: creds})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	assertStores(t, b)

	if b, err := openExternal(broker.ConnConfig{URL: srv.ClientURL()}); err == nil {
		b.Close()
		t.Fatal("connected to an operator-mode server without credentials")
	}
	missing := filepath.Join(t.TempDir(), "missing.creds")
	if b, err := openExternal(broker.ConnConfig{URL: srv.ClientURL(), Creds: missing}); err == nil {
		b.Close()
		t.Fatal("connected with a creds file that does not exist")
	}
}

func openExternal(conn broker.ConnConfig) (*broker.Broker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return broker.Open(ctx, broker.Config{Conn: conn, Stream: streamConfig()}, zerolog.Nop())
}

// assertStores proves the connection is usable for what serve does with it: a stored publish.
func assertStores(t *testing.T, b *broker.Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := b.Publisher().Publish(ctx, "avatar.video.completed.acme", event("tls-or-creds-1"))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Duplicate || ack.Seq != 1 {
		t.Fatalf("ack = %+v, want the first stored message", ack)
	}
}

// operatorMode turns opts into an operator-mode server (memory resolver) with one account that may
// use JetStream, and returns the path of a creds file for a user of that account.
func operatorMode(t *testing.T, opts *server.Options) string {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	operatorKP, err := nkeys.CreateOperator()
	must(err)
	operatorPub, err := operatorKP.PublicKey()
	must(err)
	accountJWT := func(configure func(*jwt.AccountClaims)) (nkeys.KeyPair, string, string) {
		kp, err := nkeys.CreateAccount()
		must(err)
		pub, err := kp.PublicKey()
		must(err)
		claims := jwt.NewAccountClaims(pub)
		configure(claims)
		token, err := claims.Encode(operatorKP)
		must(err)
		return kp, pub, token
	}
	_, sysPub, sysJWT := accountJWT(func(*jwt.AccountClaims) {})
	appKP, appPub, appJWT := accountJWT(func(c *jwt.AccountClaims) {
		c.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	})

	operator := jwt.NewOperatorClaims(operatorPub)
	operator.SystemAccount = sysPub
	_, err = operator.Encode(operatorKP)
	must(err)
	resolver := &server.MemAccResolver{}
	must(resolver.Store(sysPub, sysJWT))
	must(resolver.Store(appPub, appJWT))
	opts.TrustedOperators = []*jwt.OperatorClaims{operator}
	opts.AccountResolver = resolver
	opts.SystemAccount = sysPub

	userKP, err := nkeys.CreateUser()
	must(err)
	userPub, err := userKP.PublicKey()
	must(err)
	userJWT, err := jwt.NewUserClaims(userPub).Encode(appKP)
	must(err)
	seed, err := userKP.Seed()
	must(err)
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	must(err)
	path := filepath.Join(t.TempDir(), "avatarbus.creds")
	must(os.WriteFile(path, creds, 0o600))
	return path
}

// testPKI is a throwaway CA with a server certificate for 127.0.0.1 and a client certificate,
// written as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "avatarbus test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err = x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	pki := testPKI{caFile: writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage, ips ...net.IP) (certFile, keyFile string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", keyDER)
	}
	pki.serverCert, pki.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	pki.clientCert, pki.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	if _, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey); err != nil {
		t.Fatal(err)
	}
	return pki
}

func writePEM(t *testing.T, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
