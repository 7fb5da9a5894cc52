package media

import (
	"errors"
	"net/netip"
	"testing"
)

// TestClassify pins the address policy: which targets are public, which only
// AllowPrivate may reach, and which are refused whatever the configuration.
func TestClassify(t *testing.T) {
	tests := []struct {
		addr string
		want class
	}{
		// Public.
		{"8.8.8.8", public},
		{"142.250.74.46", public},
		{"2001:4860:4860::8888", public},
		{"64:ff9b::808:808", public}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", public},  // 6to4 of 8.8.8.8
		{"100.63.255.255", public},   // just below CGNAT
		{"100.128.0.0", public},      // just above CGNAT
		{"172.15.255.255", public},   // just below 172.16/12
		{"172.32.0.0", public},       // just above 172.16/12
		{"169.253.255.255", public},  // just below link-local
		{"223.255.255.255", public},  // just below multicast
		{"2600:1f18::1", public},     // an AWS range
		{"2a00:1450:4001:81c::200e", public},

		// Private: reachable only with AllowPrivate.
		{"127.0.0.1", private},
		{"127.255.255.254", private},
		{"10.0.0.1", private},
		{"172.16.0.1", private},
		{"172.31.255.255", private},
		{"192.168.1.1", private},
		{"100.64.0.1", private},
		{"100.127.255.255", private},
		{"169.254.1.1", private},
		{"192.0.0.170", private},
		{"192.0.2.1", private},
		{"198.18.0.1", private},
		{"198.51.100.7", private},
		{"203.0.113.9", private},
		{"::1", private},
		{"fe80::1", private},
		{"fe80::1%eth0", private},
		{"febf::1", private},
		{"fc00::1", private},
		{"fd12:3456::1", private},
		{"fec0::1", private},
		{"2001:db8::1", private},
		{"64:ff9b:1::a00:1", private},
		{"64:ff9b::a00:1", private},  // NAT64 of 10.0.0.1
		{"64:ff9b::7f00:1", private}, // NAT64 of 127.0.0.1
		{"2002:a00:1::1", private},   // 6to4 of 10.0.0.1
		{"2002:c0a8:101::", private}, // 6to4 of 192.168.1.1
		{"64:ff9b::6440:1", private}, // NAT64 of 100.64.0.1

		// Never, even with AllowPrivate.
		{"169.254.169.254", never},
		{"169.254.170.2", never},
		{"100.100.100.200", never},
		{"168.63.129.16", never},
		{"fd00:ec2::254", never},
		{"fd00:ec2::23", never},
		{"64:ff9b::a9fe:a9fe", never}, // NAT64 of 169.254.169.254
		{"2002:a9fe:a9fe::", never},   // 6to4 of 169.254.169.254
		{"0.0.0.0", never},
		{"0.1.2.3", never},
		{"::", never},
		{"224.0.0.1", never},
		{"239.255.255.250", never},
		{"255.255.255.255", never},
		{"240.0.0.1", never},
		{"ff02::1", never},
		{"ff05::1:3", never},
		{"::ffff:127.0.0.1", never},
		{"::ffff:10.0.0.1", never},
		{"::ffff:8.8.8.8", never}, // mapped forms are refused outright, even of public addresses
		{"::ffff:169.254.169.254", never},
		{"::127.0.0.1", never}, // deprecated IPv4-compatible
		{"::a00:1", never},
		{"100::1", never},          // discard-only
		{"2001::1", never},         // Teredo
		{"3fff::1", public},        // still inside 2000::/3
		{"4000::1", never},         // outside 2000::/3
		{"64:ff9b::e000:1", never}, // NAT64 of multicast
	}
	for _, tt := range tests {
		got, reason := classify(netip.MustParseAddr(tt.addr))
		if got != tt.want {
			t.Errorf("classify(%s) = %v (%q), want %v", tt.addr, got, reason, tt.want)
		}
		if got != public && reason == "" {
			t.Errorf("classify(%s) gave no reason", tt.addr)
		}
	}
}

// TestControlRefuses runs the dial hook itself — the function net.Dialer calls
// with the resolved address before connect — on every refused target, so the
// non-loopback ranges are covered without a packet leaving the machine. The
// Fetch tests below prove the hook is wired into the dialer.
func TestControlRefuses(t *testing.T) {
	targets := []struct {
		address     string
		evenPrivate bool // refused with AllowPrivate too
	}{
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"10.0.0.1:80", false},
		{"10.255.255.255:443", false},
		{"172.16.0.1:80", false},
		{"192.168.0.1:80", false},
		{"100.64.0.1:80", false},
		{"[fe80::1]:80", false},
		{"[fe80::1%eth0]:80", false},
		{"[fc00::1]:80", false},
		{"[64:ff9b::a00:1]:80", false},
		{"169.254.169.254:80", true},
		{"[fd00:ec2::254]:80", true},
		{"0.0.0.0:80", true},
		{"[::]:80", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"[::ffff:10.0.0.1]:80", true},
		{"224.0.0.1:80", true},
		{"255.255.255.255:80", true},
	}
	for _, allowPrivate := range []bool{false, true} {
		f := NewFetcher(Options{AllowPrivate: allowPrivate})
		for _, tt := range targets {
			network := "tcp4"
			if ap, err := netip.ParseAddrPort(tt.address); err == nil && ap.Addr().Is6() {
				network = "tcp6"
			}
			err := f.control(network, tt.address, nil)
			wantRefused := !allowPrivate || tt.evenPrivate
			var me *Error
			switch {
			case wantRefused && (!errors.As(err, &me) || me.Kind != Refused):
				t.Errorf("AllowPrivate=%v: control(%s) = %v, want a Refused error", allowPrivate, tt.address, err)
			case !wantRefused && err != nil:
				t.Errorf("AllowPrivate=%v: control(%s) = %v, want nil", allowPrivate, tt.address, err)
			}
		}
	}
	// A public address passes, and so does nothing that is not TCP.
	f := NewFetcher(Options{})
	if err := f.control("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("control(8.8.8.8) = %v, want nil", err)
	}
	if err := f.control("udp4", "8.8.8.8:53", nil); err == nil {
		t.Error("control(udp4) = nil, want refused")
	}
	if err := f.control("tcp4", "not-an-address", nil); err == nil {
		t.Error("control(garbage) = nil, want refused")
	}
}

// TestRefusedMessageHidesAddress pins that the client-safe message does not
// echo the resolved address (which would let a client map internal DNS).
func TestRefusedMessageHidesAddress(t *testing.T) {
	err := NewFetcher(Options{}).control("tcp4", "10.20.30.40:80", nil)
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("control = %v, want *Error", err)
	}
	if want := "media URL host is not allowed (private address)"; me.Msg != want {
		t.Errorf("Msg = %q, want %q", me.Msg, want)
	}
}
