package brokertest

import (
	"net"
	"sync"
	"testing"
)

// Link is a TCP proxy on loopback to one address, which a test can cut without closing anything:
// while cut, bytes already sent wait (as they would in a network that drops every packet, with
// TCP retransmitting), and new connections hang after they are accepted; Heal lets both through
// again. It simulates a silent network partition — no FIN, no RST — which a stopped or killed
// server does not.
type Link struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	closed bool
	healed *sync.Cond
	conns  []net.Conn
}

// NewLink starts a Link to target ("127.0.0.1:port") and closes it when the test ends.
func NewLink(t testing.TB, target string) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("brokertest: link: %v", err)
	}
	l := &Link{ln: ln, target: target}
	l.healed = sync.NewCond(&l.mu)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

// Addr is the address to connect to instead of the target.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Cut stops the link forwarding, in both directions, on open and new connections.
func (l *Link) Cut() {
	l.mu.Lock()
	l.cut = true
	l.mu.Unlock()
}

// Heal resumes forwarding.
func (l *Link) Heal() {
	l.mu.Lock()
	l.cut = false
	l.mu.Unlock()
	l.healed.Broadcast()
}

// waitHealed blocks while the link is cut; it returns false once the link is closed.
func (l *Link) waitHealed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.cut && !l.closed {
		l.healed.Wait()
	}
	return !l.closed
}

func (l *Link) accept() {
	for {
		down, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.serve(down)
	}
}

// track keeps c to close with the link; it closes c at once when the link is closed already.
func (l *Link) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return false
	}
	l.conns = append(l.conns, c)
	return true
}

func (l *Link) serve(down net.Conn) {
	if !l.track(down) || !l.waitHealed() { // a connection opened while cut hangs, like a SYN into a void
		return
	}
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		_ = down.Close()
		return
	}
	if !l.track(up) {
		_ = down.Close()
		return
	}
	go l.pipe(up, down)
	l.pipe(down, up)
}

// pipe copies src to dst, holding what it read while the link is cut.
func (l *Link) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !l.waitHealed() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (l *Link) close() {
	_ = l.ln.Close()
	l.mu.Lock()
	conns := l.conns
	l.conns, l.closed = nil, true
	l.mu.Unlock()
	l.healed.Broadcast()
	for _, c := range conns {
		_ = c.Close()
	}
}
