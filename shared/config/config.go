// Package config reads the gateway's settings once, at start, from the environment into one
// struct that is passed down: nothing else in the gateway reads the environment (the mains
// call Load with os.Getenv; TestNoGetenvOutsideConfig pins it). A missing or bad setting is an
// error of one line that names it. Every name Load reads is a row of README.md's settings
// table (TestReadmeSettingsTable pins that both ways).
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/batch"
	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/keys"
)

// Config is every setting of the gateway: the core's, the batch runner's and the platform
// glue's.
type Config struct {
	Backend gemini.Backend
	// BackendChosen reports that GATEWAY_BACKEND was not set and Backend was chosen from
	// what is set (the emulator when nothing is).
	BackendChosen   bool
	UpstreamURL     string // GATEWAY_UPSTREAM_URL: replaces the backend's base URL
	Project         string // GOOGLE_CLOUD_PROJECT (or GCP_PROJECT)
	Location        string // GOOGLE_CLOUD_LOCATION, default global
	GeminiAPIKey    string // GEMINI_API_KEY: the key or a Secret Manager version name
	AuthNone        bool   // GATEWAY_AUTH=none: no client keys (IAM-only deployments)
	ModelAliases    string // GATEWAY_MODEL_ALIASES: JSON object name -> model id
	MaxBodyBytes    int64
	MaxMessages     int // GATEWAY_MAX_MESSAGES: most messages in one request
	MaxParts        int // GATEWAY_MAX_PARTS: most content parts and tool calls in one request
	UpstreamTimeout time.Duration
	KeepAlive       time.Duration
	RetryAttempts   int
	CORSOrigins     []string
	IncludeThoughts bool
	// FetchHTTPMedia: fetch http(s) media and inline it (default on for the Developer API and
	// the emulator, off for Vertex, which fetches URLs itself).
	FetchHTTPMedia    bool
	MediaMaxBytes     int64
	MediaTimeout      time.Duration
	AllowPrivateFetch bool // GATEWAY_ALLOW_PRIVATE_FETCH: let URL fetching reach private addresses
	LogLevel          string

	// Per-request budgets of media fetching: how many URLs, how many bytes in all, how many at once.
	MediaMaxURLs          int   // GATEWAY_MEDIA_MAX_URLS, default 16
	MediaMaxTotalBytes    int64 // GATEWAY_MEDIA_MAX_TOTAL_BYTES, default 32 MiB
	MediaFetchConcurrency int   // GATEWAY_MEDIA_FETCH_CONCURRENCY, default 4
	// ExternalAccount is GOOGLE_EXTERNAL_ACCOUNT_JSON: a workload identity federation
	// configuration (its JSON, or the path of a file holding it); see shared/googleauth.
	ExternalAccount string
	// Keys is GATEWAY_API_KEYS, GATEWAY_KEYS_FILE, GATEWAY_KEYS_SECRET and GATEWAY_KEYS_REFRESH.
	Keys keys.Config
	// Batch is GATEWAY_OUTPUT_BUCKET, GATEWAY_INPUT_PREFIX, GATEWAY_OUTPUT_PREFIX,
	// GATEWAY_BATCH_CONCURRENCY, GATEWAY_BATCH_MAX_LINES, GATEWAY_BATCH_BUCKET_ENGINE and
	// GATEWAY_BATCH_ONLINE_MAX_LINES.
	Batch batch.Config
	// LambdaMode is GATEWAY_LAMBDA_MODE: "stream" (a RESPONSE_STREAM Function URL, the
	// default) or "buffered".
	LambdaMode string
	// Port is PORT, the local server's port (`make run`), default 8080.
	Port string

	// Local is not a setting: functions/local (`make run`) sets it, so that with no client
	// key configured one is generated for the run and printed.
	Local bool
	// EmbedConcurrency (GATEWAY_EMBED_CONCURRENCY) bounds the upstream calls one embeddings
	// request runs at once.
	EmbedConcurrency int
	// MetricsNamespace is "GeminiGateway/<function>" when AWS_LAMBDA_FUNCTION_NAME is set (the
	// Lambda runtime sets it): log lines then carry CloudWatch EMF metrics in that namespace.
	MetricsNamespace string
	// StoreDir (GATEWAY_STORE_DIR) is a local folder for the object store (files, batches);
	// `make run` defaults it under the OS cache folder.
	StoreDir string
	// StoreBucket (GATEWAY_STORE_BUCKET) is the bucket of the object store in a deployment:
	// Cloud Storage on Google Cloud (functions/gcf), S3 on AWS (functions/lambda). On the vertex
	// backend on Google Cloud it is also where Vertex batch prediction reads and writes.
	StoreBucket  string
	ResponsesKey string // GATEWAY_RESPONSES_KEY: the key of the Responses API's encrypted_content
	// VertexStagingBucket (GATEWAY_VERTEX_STAGING_BUCKET) is a Cloud Storage bucket for Vertex AI
	// batch prediction when the store is not on Cloud Storage (AWS: S3): each job's input is
	// staged there, reached with the gateway's Google credentials, and Vertex writes its outputs
	// there.
	VertexStagingBucket string
}

// FromEnv reads the configuration from the process environment: the entry point of a
// function that has no main (functions/gcf) calls it.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// Load reads the configuration through getenv: os.Getenv in a main, a map in tests.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		UpstreamURL:       strings.TrimSpace(getenv("GATEWAY_UPSTREAM_URL")),
		Project:           strings.TrimSpace(getenv("GOOGLE_CLOUD_PROJECT")),
		Location:          p.str("GOOGLE_CLOUD_LOCATION", "global"),
		GeminiAPIKey:      strings.TrimSpace(getenv("GEMINI_API_KEY")),
		ModelAliases:      getenv("GATEWAY_MODEL_ALIASES"),
		MaxBodyBytes:      p.int64("GATEWAY_MAX_BODY_BYTES", 32<<20),
		MaxMessages:       int(p.int64("GATEWAY_MAX_MESSAGES", 10000)),
		MaxParts:          int(p.int64("GATEWAY_MAX_PARTS", 50000)),
		UpstreamTimeout:   p.duration("GATEWAY_UPSTREAM_TIMEOUT", 5*time.Minute),
		KeepAlive:         p.duration("GATEWAY_KEEPALIVE", 15*time.Second),
		RetryAttempts:     int(p.int64("GATEWAY_RETRY_ATTEMPTS", 3)),
		IncludeThoughts:   p.bool("GATEWAY_INCLUDE_THOUGHTS", true),
		MediaMaxBytes:     p.int64("GATEWAY_MEDIA_MAX_BYTES", 20<<20),
		MediaTimeout:      p.duration("GATEWAY_MEDIA_TIMEOUT", 30*time.Second),
		AllowPrivateFetch: p.bool("GATEWAY_ALLOW_PRIVATE_FETCH", false),
		LogLevel:          p.str("GATEWAY_LOG_LEVEL", "info"),

		MediaMaxURLs:          int(p.int64("GATEWAY_MEDIA_MAX_URLS", 16)),
		MediaMaxTotalBytes:    p.int64("GATEWAY_MEDIA_MAX_TOTAL_BYTES", 32<<20),
		MediaFetchConcurrency: int(p.int64("GATEWAY_MEDIA_FETCH_CONCURRENCY", 4)),
		ExternalAccount:       strings.TrimSpace(getenv("GOOGLE_EXTERNAL_ACCOUNT_JSON")),
		Keys: keys.Config{
			List:    strings.TrimSpace(getenv("GATEWAY_API_KEYS")),
			File:    strings.TrimSpace(getenv("GATEWAY_KEYS_FILE")),
			Secret:  strings.TrimSpace(getenv("GATEWAY_KEYS_SECRET")),
			Refresh: p.duration("GATEWAY_KEYS_REFRESH", keys.DefaultRefresh),
		},
		Batch: batch.Config{
			OutputBucket:   strings.TrimSpace(getenv("GATEWAY_OUTPUT_BUCKET")),
			InputPrefix:    p.str("GATEWAY_INPUT_PREFIX", batch.DefaultInputPrefix),
			OutputPrefix:   p.str("GATEWAY_OUTPUT_PREFIX", batch.DefaultOutputPrefix),
			Concurrency:    int(p.int64("GATEWAY_BATCH_CONCURRENCY", batch.DefaultConcurrency)),
			MaxLines:       int(p.int64("GATEWAY_BATCH_MAX_LINES", batch.DefaultMaxLines)),
			BucketEngine:   strings.ToLower(p.str("GATEWAY_BATCH_BUCKET_ENGINE", batch.BucketAuto)),
			OnlineMaxLines: int(p.int64("GATEWAY_BATCH_ONLINE_MAX_LINES", batch.DefaultOnlineMaxLines)),
		},
		LambdaMode:       strings.ToLower(p.str("GATEWAY_LAMBDA_MODE", "stream")),
		Port:             p.str("PORT", "8080"),
		EmbedConcurrency: int(p.int64("GATEWAY_EMBED_CONCURRENCY", 8)),
		StoreDir:         strings.TrimSpace(getenv("GATEWAY_STORE_DIR")),
		StoreBucket:      strings.TrimSpace(getenv("GATEWAY_STORE_BUCKET")),
		ResponsesKey:     getenv("GATEWAY_RESPONSES_KEY"),

		VertexStagingBucket: strings.TrimSpace(getenv("GATEWAY_VERTEX_STAGING_BUCKET")),
	}
	if fn := strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_NAME")); fn != "" {
		c.MetricsNamespace = "GeminiGateway/" + fn
	}
	if gcp := strings.TrimSpace(getenv("GCP_PROJECT")); c.Project == "" {
		c.Project = gcp
	}
	for _, o := range strings.Split(getenv("GATEWAY_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	switch a := strings.ToLower(strings.TrimSpace(getenv("GATEWAY_AUTH"))); a {
	case "", "keys":
	case "none":
		c.AuthNone = true
	default:
		p.fail("GATEWAY_AUTH", a, "keys or none")
	}
	switch b := strings.ToLower(strings.TrimSpace(getenv("GATEWAY_BACKEND"))); b {
	case "vertex", "gemini", "emulator":
		c.Backend = gemini.Backend(b)
	case "":
		switch {
		case c.Project != "":
			c.Backend = gemini.Vertex
		case c.GeminiAPIKey != "":
			c.Backend = gemini.Developer
		default:
			c.Backend = gemini.Emulator
		}
		c.BackendChosen = true
	default:
		p.fail("GATEWAY_BACKEND", b, "vertex, gemini or emulator")
	}
	c.FetchHTTPMedia = p.bool("GATEWAY_FETCH_HTTP_MEDIA", c.Backend != gemini.Vertex)
	switch c.Batch.BucketEngine {
	case batch.BucketAuto, batch.BucketOnline, batch.BucketBatch:
	default:
		p.fail("GATEWAY_BATCH_BUCKET_ENGINE", c.Batch.BucketEngine, "auto, online or batch")
	}
	if c.LambdaMode != "stream" && c.LambdaMode != "buffered" {
		p.fail("GATEWAY_LAMBDA_MODE", c.LambdaMode, "stream or buffered")
	}
	if p.err != nil {
		return Config{}, p.err
	}
	if err := c.checkKeys(); err != nil {
		return Config{}, err
	}
	switch {
	case c.Backend == gemini.Vertex && c.Project == "":
		return Config{}, fmt.Errorf("GATEWAY_BACKEND=vertex needs GOOGLE_CLOUD_PROJECT")
	case c.Backend == gemini.Developer && c.GeminiAPIKey == "":
		return Config{}, fmt.Errorf("GATEWAY_BACKEND=gemini needs GEMINI_API_KEY")
	case c.MaxBodyBytes <= 0:
		return Config{}, fmt.Errorf("GATEWAY_MAX_BODY_BYTES must be positive")
	case c.MaxMessages < 1:
		return Config{}, fmt.Errorf("GATEWAY_MAX_MESSAGES must be at least 1")
	case c.MaxParts < 1:
		return Config{}, fmt.Errorf("GATEWAY_MAX_PARTS must be at least 1")
	case c.RetryAttempts < 1:
		return Config{}, fmt.Errorf("GATEWAY_RETRY_ATTEMPTS must be at least 1")
	case c.MediaMaxURLs < 1:
		return Config{}, fmt.Errorf("GATEWAY_MEDIA_MAX_URLS must be at least 1")
	case c.MediaMaxTotalBytes < 1:
		return Config{}, fmt.Errorf("GATEWAY_MEDIA_MAX_TOTAL_BYTES must be positive")
	case c.MediaFetchConcurrency < 1:
		return Config{}, fmt.Errorf("GATEWAY_MEDIA_FETCH_CONCURRENCY must be at least 1")
	case c.UpstreamTimeout == 0:
		return Config{}, fmt.Errorf("GATEWAY_UPSTREAM_TIMEOUT must be positive")
	case c.KeepAlive == 0:
		return Config{}, fmt.Errorf("GATEWAY_KEEPALIVE must be positive")
	case c.MediaTimeout == 0:
		return Config{}, fmt.Errorf("GATEWAY_MEDIA_TIMEOUT must be positive")
	case c.Batch.Concurrency < 1 || c.Batch.Concurrency > batch.MaxConcurrency:
		return Config{}, fmt.Errorf("GATEWAY_BATCH_CONCURRENCY must be from 1 to %d", batch.MaxConcurrency)
	case c.Batch.MaxLines < 1 || c.Batch.MaxLines > batch.MaxMaxLines:
		return Config{}, fmt.Errorf("GATEWAY_BATCH_MAX_LINES must be from 1 to %d", batch.MaxMaxLines)
	case c.Batch.OnlineMaxLines < 1 || c.Batch.OnlineMaxLines > batch.MaxMaxLines:
		return Config{}, fmt.Errorf("GATEWAY_BATCH_ONLINE_MAX_LINES must be from 1 to %d", batch.MaxMaxLines)
	case strings.HasPrefix(c.Batch.InputPrefix, c.Batch.OutputPrefix):
		// The runner never takes an object under the output prefix as input (so results cannot
		// trigger another run); an input prefix under it would ignore every input.
		return Config{}, fmt.Errorf("GATEWAY_INPUT_PREFIX=%q is under GATEWAY_OUTPUT_PREFIX=%q: inputs would be ignored", c.Batch.InputPrefix, c.Batch.OutputPrefix)
	case c.EmbedConcurrency < 1:
		return Config{}, fmt.Errorf("GATEWAY_EMBED_CONCURRENCY must be at least 1")
	}
	return c, nil
}

// checkKeys refuses two client-key sources at once. (shared/app checks GATEWAY_KEYS_SECRET's
// form with shared/secrets, which this package does not import: it would bring the gRPC
// client into every binary that reads the settings.)
func (c *Config) checkKeys() error {
	n := 0
	for _, v := range []string{c.Keys.List, c.Keys.File, c.Keys.Secret} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("set only one of GATEWAY_KEYS_SECRET, GATEWAY_KEYS_FILE and GATEWAY_API_KEYS")
	}
	return nil
}

// Describe says in plain words which backend serves the requests: for Vertex the project and
// location, for the Developer API that a key is set, for the emulator why it was chosen.
// `make run` prints it first.
func (c Config) Describe() string {
	switch c.Backend {
	case gemini.Vertex:
		creds := "Application Default Credentials"
		if c.ExternalAccount != "" {
			creds = "workload identity federation"
		}
		return fmt.Sprintf("Gemini on Vertex AI, project %s, location %s (%s)", c.Project, c.Location, creds)
	case gemini.Developer:
		return "Gemini Developer API (GEMINI_API_KEY is set)"
	}
	if c.BackendChosen {
		return "offline Gemini emulator (canned answers, no cloud account; set GEMINI_API_KEY or GOOGLE_CLOUD_PROJECT for real Gemini)"
	}
	return "offline Gemini emulator (canned answers, no cloud account)"
}

type parser struct {
	getenv func(string) string
	err    error
}

func (p *parser) fail(name, v, want string) {
	if p.err == nil {
		p.err = fmt.Errorf("%s=%q is not valid: want %s", name, v, want)
	}
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int64(name string, def int64) int64 {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		p.fail(name, v, "a non-negative integer")
		return def
	}
	return n
}

// duration is the one duration parser: a Go duration (300s, 5m) or whole seconds (300). Zero
// is a value (GATEWAY_KEYS_REFRESH=0 turns re-reading off); Load refuses it where it means
// nothing.
func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if n, err2 := strconv.Atoi(v); err2 == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		p.fail(name, v, "a duration such as 300s or 5m")
		return def
	}
	if d < 0 {
		p.fail(name, v, "a duration that is not negative")
		return def
	}
	return d
}

func (p *parser) bool(name string, def bool) bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, v, "true or false")
		return def
	}
	return b
}
