// Package secrets reads and writes Secret Manager secret versions: the client-key document
// (shared/keys, scripts/keytool) and GEMINI_API_KEY when it names a secret version. Errors are
// one line that says what to fix (a missing IAM role, a wrong name) and unwrap to the gRPC
// status.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Accessor reads a secret version's payload. name is a version resource name,
// projects/P/secrets/S/versions/V (V may be "latest").
type Accessor interface {
	Access(ctx context.Context, name string) ([]byte, error)
}

// Client is an [Accessor] over the Secret Manager gRPC client, which can also add versions
// (scripts/keytool). Close it when done.
type Client struct {
	c *secretmanager.Client
}

// New returns a Secret Manager client. In production pass
// option.WithAuthCredentials with the credentials from shared/googleauth; tests pass
// option.WithEndpoint, option.WithoutAuthentication and an insecure gRPC dial option to reach a
// fake on loopback. No connection is made until the first call.
func New(ctx context.Context, opts ...option.ClientOption) (*Client, error) {
	c, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("secret manager client: %w", err)
	}
	return &Client{c: c}, nil
}

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// Access returns the payload of the secret version name, checked against the CRC32C checksum
// Secret Manager sends with it.
func (s *Client) Access(ctx context.Context, name string) ([]byte, error) {
	if s == nil { // a nil *Client passed as an Accessor
		return nil, errors.New("no Secret Manager client")
	}
	resp, err := s.c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	if err != nil {
		return nil, Describe(err)
	}
	p := resp.GetPayload()
	data := p.GetData()
	if p.DataCrc32C != nil && int64(crc32.Checksum(data, crc32c)) != p.GetDataCrc32C() {
		return nil, errors.New("secret payload failed its CRC32C check")
	}
	return data, nil
}

// AddVersion adds payload as a new version of secret (projects/P/secrets/S) and returns the
// new version's name. The payload carries its CRC32C so Secret Manager rejects a corrupted one.
func (s *Client) AddVersion(ctx context.Context, secret string, payload []byte) (string, error) {
	sum := int64(crc32.Checksum(payload, crc32c))
	v, err := s.c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{
		Parent:  secret,
		Payload: &secretmanagerpb.SecretPayload{Data: payload, DataCrc32C: &sum},
	})
	if err != nil {
		return "", describe(err, "roles/secretmanager.secretVersionAdder")
	}
	return v.GetName(), nil
}

// Exists reports whether the secret (projects/P/secrets/S) exists. An error other than
// NotFound (permission denied, say) is returned as is.
func (s *Client) Exists(ctx context.Context, secret string) (bool, error) {
	_, err := s.c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: secret})
	switch {
	case status.Code(err) == codes.NotFound:
		return false, nil
	case err != nil:
		return false, describe(err, "roles/secretmanager.viewer")
	}
	return true, nil
}

// Close closes the client's connections. Closing a nil *Client does nothing.
func (s *Client) Close() error {
	if s == nil {
		return nil
	}
	return s.c.Close()
}

var secretVersionName = regexp.MustCompile(`^projects/[^/]+/secrets/[^/]+/versions/[^/]+$`)

// IsVersion reports whether value is a secret version resource name,
// projects/P/secrets/S/versions/V.
func IsVersion(value string) bool { return secretVersionName.MatchString(value) }

var secretName = regexp.MustCompile(`^projects/[^/]+/secrets/[^/]+$`)

// SplitName accepts projects/P/secrets/S or projects/P/secrets/S/versions/V and returns
// the secret and the version name (…/versions/latest when none was given).
func SplitName(name string) (secret, version string, err error) {
	switch {
	case IsVersion(name):
		return name[:strings.LastIndex(name, "/versions/")], name, nil
	case secretName.MatchString(name):
		return name, name + "/versions/latest", nil
	}
	return "", "", fmt.Errorf("%q is not a secret name (projects/P/secrets/S or projects/P/secrets/S/versions/V)", name)
}

// Resolve returns value unchanged unless it is a secret version name
// (projects/P/secrets/S/versions/V), in which case it returns the version's payload with
// surrounding white space trimmed. The gateway uses it for GEMINI_API_KEY, so the key can live
// in Secret Manager and the environment holds only its name.
func Resolve(ctx context.Context, sm Accessor, value string) (string, error) {
	if !IsVersion(value) {
		return value, nil
	}
	if sm == nil {
		return "", fmt.Errorf("secret %s: no Secret Manager client", value)
	}
	b, err := sm.Access(ctx, value)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", value, Describe(err))
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret %s: payload is empty", value)
	}
	return v, nil
}

// roleAccessor is the role that lets the gateway's service account read a secret.
const roleAccessor = "roles/secretmanager.secretAccessor"

// Describe is describe for a read: a permission error names roles/secretmanager.secretAccessor.
func Describe(err error) error { return describe(err, roleAccessor) }

// describe turns an error from Secret Manager into a one-line error: the gRPC code in words,
// the service's message, and for permission errors the IAM role that is missing. It unwraps
// to err, so errors.Is and status.Code still see the cause. The client's errors hold no
// payload, so neither does the result. An error already described passes through.
func describe(err error, role string) error {
	var d *describedError
	if errors.As(err, &d) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		msg := oneLine(err.Error())
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "timed out (is Secret Manager reachable?): " + msg
		}
		return &describedError{msg: msg, err: err}
	}
	msg := oneLine(st.Message())
	switch st.Code() {
	case codes.PermissionDenied:
		msg = "permission denied (the caller needs " + role + " on the secret): " + msg
	case codes.NotFound:
		msg = "not found (check the project, secret name and version): " + msg
	case codes.FailedPrecondition:
		msg = "version not accessible (disabled or destroyed?): " + msg
	case codes.Unauthenticated:
		msg = "unauthenticated (no usable Google credentials): " + msg
	case codes.DeadlineExceeded, codes.Canceled:
		msg = "timed out: " + msg
	default:
		msg = fmt.Sprintf("%s: %s", st.Code(), msg)
	}
	return &describedError{msg: msg, err: err}
}

// describedError is an error with a one-line message that unwraps to its cause.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// oneLine folds white space runs, newlines included, into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
