package translate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// A reasoning item's encrypted_content is ours to define (OpenAI's is opaque to clients too). It
// carries the thought signatures Gemini attached to the parts of the turn the reasoning item
// opens, so a client that sends the stateless history back (store: false, or the Vercel AI SDK
// with include reasoning.encrypted_content) returns them to exactly those parts:
//
//	gg1.<base64url(JSON payload)>.<base64url(HMAC-SHA256(key, "gg1."+payload))>
//
// The version prefix lets the format change; the MAC is checked before anything is read, so a
// tampered or foreign value is a 400 and never reaches Gemini. The signatures are Google's own
// opaque blobs and not secret, so the MAC is for integrity, not secrecy: with the built-in key
// it catches corruption and foreign values; with GATEWAY_RESPONSES_KEY set it also stops a client
// forging one (which Gemini would reject anyway).
const sealVersion = "gg1"

// DefaultSealKey is the key used when the deployment sets none. Every instance of a deployment
// must share the key, or a history sealed by one is refused by the next.
var DefaultSealKey = []byte("gemini-gateway responses encrypted_content v1")

// sealed is the payload of encrypted_content.
type sealed struct {
	// Text is the signature of the assistant message's text that follows the reasoning item.
	Text string `json:"t,omitempty"`
	// Calls lists the turn's function calls in order with their signatures (most have none:
	// Gemini signs the first call of a parallel set), so a signature finds its call by call_id
	// or, when the client rebuilt the items with ids of its own, by position.
	Calls []sealedCall `json:"c,omitempty"`
	// Images lists the signatures of generated images, in order.
	Images []string `json:"i,omitempty"`
}

// sealedCall is one function call of a sealed turn.
type sealedCall struct {
	ID  string `json:"i"`
	Sig string `json:"s,omitempty"`
}

// empty reports whether s holds no signature.
func (s *sealed) empty() bool {
	if s.Text != "" {
		return false
	}
	for _, c := range s.Calls {
		if c.Sig != "" {
			return false
		}
	}
	for _, i := range s.Images {
		if i != "" {
			return false
		}
	}
	return true
}

// callSig returns the signature of the function call with id, or else of the pos-th call.
func (s *sealed) callSig(id string, pos int) string {
	for _, c := range s.Calls {
		if c.ID == id {
			return c.Sig
		}
	}
	if pos < len(s.Calls) {
		return s.Calls[pos].Sig
	}
	return ""
}

func sealMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// seal encodes s as encrypted_content under key.
func seal(key []byte, s *sealed) string {
	b, _ := json.Marshal(s)
	msg := sealVersion + "." + base64.RawURLEncoding.EncodeToString(b)
	return msg + "." + base64.RawURLEncoding.EncodeToString(sealMAC(key, msg))
}

// unseal verifies and decodes encrypted_content; ok is false for anything seal did not write
// under key.
func unseal(key []byte, v string) (s sealed, ok bool) {
	ver, rest, found := strings.Cut(v, ".")
	if !found || ver != sealVersion {
		return s, false
	}
	payload, mac, found := strings.Cut(rest, ".")
	if !found {
		return s, false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, sealMAC(key, ver+"."+payload)) {
		return s, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &s) != nil {
		return sealed{}, false
	}
	return s, true
}
