package media

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// fakeResolver returns a resolver whose DNS server is a UDP socket on
// loopback answering A and AAAA queries from answers (name -> address) and
// NXDOMAIN for anything else, so that name-based tests never send a packet
// off the machine and can make a name resolve to any address.
func fakeResolver(t *testing.T, answers map[string]string) *net.Resolver {
	t.Helper()
	table := make(map[string]netip.Addr, len(answers))
	for name, a := range answers {
		table[strings.ToLower(strings.TrimSuffix(name, "."))] = netip.MustParseAddr(a)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], table); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	server := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp4", server)
		},
	}
}

// dnsAnswer builds the reply to one DNS query (RFC 1035 §4.1), or nil if the
// query is malformed.
func dnsAnswer(q []byte, table map[string]netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	off := 12
	var labels []string
	for {
		if off >= len(q) {
			return nil
		}
		l := int(q[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[off:off+l]))
		off += l
	}
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	question := q[12 : off+4]
	addr, found := table[strings.ToLower(strings.Join(labels, "."))]

	var answer []byte
	switch {
	case found && addr.Is4() && qtype == 1: // A
		a := addr.As4()
		answer = a[:]
	case found && addr.Is6() && qtype == 28: // AAAA
		a := addr.As16()
		answer = a[:]
	}

	resp := make([]byte, 0, 12+len(question)+16+len(answer))
	resp = append(resp, q[0], q[1]) // id
	flags := uint16(0x8180)         // response, recursion desired and available
	if !found {
		flags |= 3 // NXDOMAIN
	}
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1) // questions
	ancount := uint16(0)
	if answer != nil {
		ancount = 1
	}
	resp = binary.BigEndian.AppendUint16(resp, ancount)
	resp = append(resp, 0, 0, 0, 0) // authority, additional
	resp = append(resp, question...)
	if answer != nil {
		resp = append(resp, 0xc0, 12) // name: pointer to the question
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1)  // class IN
		resp = binary.BigEndian.AppendUint32(resp, 60) // TTL
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(answer)))
		resp = append(resp, answer...)
	}
	return resp
}

// TestFakeResolver pins the helper itself: the other tests rely on it to make
// names resolve where they say.
func TestFakeResolver(t *testing.T) {
	r := fakeResolver(t, map[string]string{"private.example.test": "10.1.2.3"})
	got, err := r.LookupNetIP(t.Context(), "ip4", "private.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("LookupNetIP = %v, want [10.1.2.3]", got)
	}
	if _, err := r.LookupNetIP(t.Context(), "ip4", "missing.example.test"); err == nil {
		t.Error("LookupNetIP(missing) succeeded, want NXDOMAIN")
	}
}
