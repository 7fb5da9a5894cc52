package keys

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Document is the key document kept in a file (GATEWAY_KEYS_FILE) or a Secret Manager secret
// (GATEWAY_KEYS_SECRET) and written by scripts/keytool:
//
//	{"keys":[{"name":"alice","sha256":"<64 hex digits>","models":["gemini-3.1-pro"],"rpm":60,"disabled":false}]}
//
// It holds the SHA-256 of each key, never the key. A document with no keys is valid: the
// gateway starts and rejects every request until a key is added.
type Document struct {
	Keys []Entry `json:"keys"`
}

// Entry is one key in a [Document].
type Entry struct {
	Name     string   `json:"name"`             // logged instead of the key; unique
	SHA256   string   `json:"sha256"`           // hex SHA-256 of the key
	Models   []string `json:"models,omitempty"` // allowed models; empty allows all
	RPM      int      `json:"rpm,omitempty"`    // requests per minute per instance; 0 is unlimited
	Disabled bool     `json:"disabled,omitempty"`
}

// ParseDocument decodes and validates a key document. Unknown fields are rejected so that a
// misspelt "rpm" or "disabled" is an error rather than a key with no limit. Errors name the
// entry by position and name, never by its hash.
func ParseDocument(b []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("key document: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("key document: trailing data after the JSON object")
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *Document) validate() error {
	names := make(map[string]bool, len(d.Keys))
	hashes := make(map[string]string, len(d.Keys))
	for i, e := range d.Keys {
		at := fmt.Sprintf("key document: keys[%d]", i)
		if e.Name == "" {
			return fmt.Errorf("%s: name is empty", at)
		}
		at += fmt.Sprintf(" (%q)", e.Name)
		if len(e.Name) > 128 || strings.IndexFunc(e.Name, unicode.IsControl) >= 0 {
			return fmt.Errorf("%s: name is longer than 128 bytes or holds control characters", at)
		}
		if names[e.Name] {
			return fmt.Errorf("%s: name is used twice", at)
		}
		names[e.Name] = true
		h, err := hex.DecodeString(e.SHA256)
		if err != nil || len(h) != sha256.Size {
			return fmt.Errorf("%s: sha256 must be %d hex digits", at, 2*sha256.Size)
		}
		norm := hex.EncodeToString(h)
		if other, ok := hashes[norm]; ok {
			return fmt.Errorf("%s: same sha256 as %q", at, other)
		}
		hashes[norm] = e.Name
		if e.RPM < 0 {
			return fmt.Errorf("%s: rpm is negative", at)
		}
		for _, m := range e.Models {
			if m == "" {
				return fmt.Errorf("%s: empty model name", at)
			}
		}
	}
	return nil
}

// Marshal encodes d as indented JSON after validating it.
func (d *Document) Marshal() ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	doc := *d
	if doc.Keys == nil {
		doc.Keys = []Entry{} // {"keys":[]}, not {"keys":null}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Set returns the key set d describes.
func (d *Document) Set() (*Set, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	ks := make([]*Key, 0, len(d.Keys))
	for _, e := range d.Keys {
		k := &Key{Name: e.Name, RPM: e.RPM, Disabled: e.Disabled}
		if _, err := hex.Decode(k.Hash[:], []byte(e.SHA256)); err != nil {
			return nil, fmt.Errorf("key document: %q: sha256: %w", e.Name, err)
		}
		if len(e.Models) > 0 {
			k.Models = append([]string(nil), e.Models...)
		}
		ks = append(ks, k)
	}
	return NewSet(ks), nil
}

// Find returns the entry named name, or nil.
func (d *Document) Find(name string) *Entry {
	for i := range d.Keys {
		if d.Keys[i].Name == name {
			return &d.Keys[i]
		}
	}
	return nil
}

// HashKey returns the hex SHA-256 of a raw key, the form a [Document] stores.
func HashKey(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
