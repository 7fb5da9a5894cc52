// Command keytool manages the gateway's client keys, kept as a key document (SHA-256 hashes,
// never keys) in a Secret Manager secret. Each change adds a new secret version; running
// gateways pick it up within GATEWAY_KEYS_REFRESH.
//
//	go run ./scripts/keytool add NAME [--models a,b] [--rpm N]   create a key and print it once
//	go run ./scripts/keytool list                                names, models, rpm, status
//	go run ./scripts/keytool revoke NAME                         disable a key
//
// The secret is --secret projects/P/secrets/S, or GATEWAY_KEYS_SECRET (a …/versions/latest
// suffix is ignored). Credentials are Application Default Credentials (gcloud auth
// application-default login) or GOOGLE_EXTERNAL_ACCOUNT_JSON, as for the gateway; you need
// roles/secretmanager.secretAccessor and roles/secretmanager.secretVersionAdder on the secret.
// --endpoint (or GATEWAY_SECRETMANAGER_ENDPOINT) points the client elsewhere; with --insecure
// it talks plaintext gRPC without credentials to a loopback emulator or test fake.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/geminigateway/gateway/shared/googleauth"
	"github.com/geminigateway/gateway/shared/keys"
	"github.com/geminigateway/gateway/shared/secrets"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// keyPrefix marks gateway keys, so they are recognisable in a leak scan.
const keyPrefix = "gk-"

const usage = `usage:
  keytool add NAME [--models a,b] [--rpm N]
  keytool list
  keytool revoke NAME
flags for every command:
  --secret projects/P/secrets/S   (default $GATEWAY_KEYS_SECRET)
  --endpoint host:port            (default $GATEWAY_SECRETMANAGER_ENDPOINT)
  --insecure                      plaintext, no credentials; loopback endpoints only`

var errUsage = errors.New(usage)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "keytool:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// options are the flags every command takes.
type options struct {
	secret   string
	endpoint string
	insecure bool
}

// run executes one command. The new key goes to stdout alone on its line; everything else
// goes to stderr (list writes its table to stdout).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	fs.StringVar(&o.secret, "secret", getenv("GATEWAY_KEYS_SECRET"), "")
	fs.StringVar(&o.endpoint, "endpoint", getenv("GATEWAY_SECRETMANAGER_ENDPOINT"), "")
	fs.BoolVar(&o.insecure, "insecure", false, "")
	var models string
	var rpm int
	if cmd == "add" {
		fs.StringVar(&models, "models", "", "")
		fs.IntVar(&rpm, "rpm", 0, "")
	}

	var pos []string
	switch cmd {
	case "add", "revoke", "list":
		var err error
		if pos, err = parse(fs, args); err != nil {
			return fmt.Errorf("%s: %w\n%w", cmd, err, errUsage)
		}
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%w", cmd, errUsage)
	}
	want := 1
	if cmd == "list" {
		want = 0
	}
	if len(pos) != want {
		return fmt.Errorf("%s takes %d argument(s), got %d\n%w", cmd, want, len(pos), errUsage)
	}
	if o.secret == "" {
		return fmt.Errorf("no secret: pass --secret projects/P/secrets/S or set GATEWAY_KEYS_SECRET\n%w", errUsage)
	}
	secret, _, err := secrets.SplitName(o.secret)
	if err != nil {
		return err
	}

	sm, err := newClient(ctx, o, getenv)
	if err != nil {
		return err
	}
	defer sm.Close()

	switch cmd {
	case "add":
		return add(ctx, sm, secret, pos[0], splitModels(models), rpm, stdout, stderr)
	case "revoke":
		return revoke(ctx, sm, secret, pos[0], stderr)
	default:
		return list(ctx, sm, secret, stdout)
	}
}

// parse parses flags that may come before or after the positional arguments
// (add alice --rpm 60 as well as add --rpm 60 alice).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func splitModels(s string) []string {
	var ms []string
	for m := range strings.SplitSeq(s, ",") {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	return ms
}

// newClient builds the same Secret Manager client the gateway uses.
func newClient(ctx context.Context, o options, getenv func(string) string) (*secrets.Client, error) {
	var opts []option.ClientOption
	if o.endpoint != "" {
		opts = append(opts, option.WithEndpoint(o.endpoint))
	}
	if o.insecure {
		host, _, err := net.SplitHostPort(o.endpoint)
		ip := net.ParseIP(host)
		if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return nil, fmt.Errorf("--insecure needs a loopback --endpoint such as 127.0.0.1:8085, got %q", o.endpoint)
		}
		opts = append(opts, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	} else {
		creds, err := googleauth.Credentials(ctx, getenv(googleauth.ExternalAccountEnv), nil)
		if err != nil {
			return nil, err
		}
		opts = append(opts, option.WithAuthCredentials(creds))
	}
	return secrets.New(ctx, opts...)
}

// readDocument returns the latest key document of secret. A secret with no version yet holds
// the empty document.
func readDocument(ctx context.Context, sm *secrets.Client, secret string) (*keys.Document, error) {
	b, err := sm.Access(ctx, secret+"/versions/latest")
	if status.Code(err) == codes.NotFound {
		ok, gerr := sm.Exists(ctx, secret)
		if gerr != nil {
			return nil, fmt.Errorf("%s: %w", secret, gerr)
		}
		if !ok {
			return nil, fmt.Errorf("%s: secret does not exist (terraform apply creates it)", secret)
		}
		return &keys.Document{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", secret, err)
	}
	d, err := keys.ParseDocument(b)
	if err != nil {
		return nil, fmt.Errorf("%s/versions/latest: %w", secret, err)
	}
	return d, nil
}

// writeDocument adds d as a new version of secret.
func writeDocument(ctx context.Context, sm *secrets.Client, secret string, d *keys.Document) (string, error) {
	b, err := d.Marshal()
	if err != nil {
		return "", err
	}
	v, err := sm.AddVersion(ctx, secret, b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", secret, err)
	}
	return v, nil
}

// newKey returns a key of 32 random bytes: gk- and 43 base64url characters.
func newKey() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return weak bytes)
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// validName is what a key name may look like: it appears in logs and in list's table.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

func add(ctx context.Context, sm *secrets.Client, secret, name string, models []string, rpm int, stdout, stderr io.Writer) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("key name %q: use up to 64 letters, digits and . _ @ + -, starting with a letter or digit", name)
	}
	if rpm < 0 {
		return fmt.Errorf("--rpm %d: must be 0 (unlimited) or more", rpm)
	}
	d, err := readDocument(ctx, sm, secret)
	if err != nil {
		return err
	}
	if d.Find(name) != nil {
		return fmt.Errorf("a key named %q exists already; revoke it and add another name", name)
	}
	raw := newKey()
	d.Keys = append(d.Keys, keys.Entry{Name: name, SHA256: keys.HashKey(raw), Models: models, RPM: rpm})
	v, err := writeDocument(ctx, sm, secret, d)
	if err != nil {
		return err
	}
	// Versions are added without a precondition, so a concurrent change could have replaced
	// ours as latest; check before handing out a key that would not work.
	if latest, err := readDocument(ctx, sm, secret); err != nil || latest.Find(name) == nil || latest.Find(name).SHA256 != keys.HashKey(raw) {
		return fmt.Errorf("%s was written, but the latest version no longer holds key %q (a concurrent change?); run list and add again", v, name)
	}
	fmt.Fprintf(stderr, "Added key %q as %s. Copy it now; it is not stored and is not shown again.\n", name, v)
	fmt.Fprintln(stdout, raw)
	fmt.Fprintln(stderr, "Running gateways accept it within GATEWAY_KEYS_REFRESH (1m by default).")
	return nil
}

func revoke(ctx context.Context, sm *secrets.Client, secret, name string, stderr io.Writer) error {
	d, err := readDocument(ctx, sm, secret)
	if err != nil {
		return err
	}
	e := d.Find(name)
	if e == nil {
		return fmt.Errorf("no key named %q", name)
	}
	if e.Disabled {
		fmt.Fprintf(stderr, "Key %q is already revoked; nothing changed.\n", name)
		return nil
	}
	e.Disabled = true
	v, err := writeDocument(ctx, sm, secret, d)
	if err != nil {
		return err
	}
	if latest, err := readDocument(ctx, sm, secret); err != nil || latest.Find(name) != nil && !latest.Find(name).Disabled {
		return fmt.Errorf("%s was written, but the latest version still has key %q active (a concurrent change?); run revoke again", v, name)
	}
	fmt.Fprintf(stderr, "Revoked key %q in %s. Running gateways refuse it within GATEWAY_KEYS_REFRESH (1m by default).\n", name, v)
	return nil
}

// list prints the keys without their hashes; an 8-digit prefix tells entries apart.
func list(ctx context.Context, sm *secrets.Client, secret string, stdout io.Writer) error {
	d, err := readDocument(ctx, sm, secret)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMODELS\tRPM\tSTATUS\tSHA256")
	for _, e := range d.Keys {
		models, rpm, st := "all", "unlimited", "active"
		if len(e.Models) > 0 {
			models = strings.Join(e.Models, ",")
		}
		if e.RPM > 0 {
			rpm = strconv.Itoa(e.RPM)
		}
		if e.Disabled {
			st = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s…\n", e.Name, models, rpm, st, e.SHA256[:8])
	}
	return tw.Flush()
}
