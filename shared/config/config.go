// Package config reads the gateway's settings once, at start, from the environment into one
// struct. A missing or bad setting is an error of one line that names it.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/geminigateway/gateway/shared/gemini"
)

// Config is every setting of the gateway core.
type Config struct {
	Backend gemini.Backend
	// BackendNotice explains a backend chosen by default (the emulator when nothing is set).
	BackendNotice   string
	UpstreamURL     string // GATEWAY_UPSTREAM_URL: replaces the backend's base URL
	Project         string // GOOGLE_CLOUD_PROJECT
	Location        string // GOOGLE_CLOUD_LOCATION, default global
	GeminiAPIKey    string // GEMINI_API_KEY: the key or a Secret Manager version name
	APIKeys         string // GATEWAY_API_KEYS: comma-separated, optionally name:key
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
	StoreDir          string // GATEWAY_STORE_DIR: a local folder for stored responses
	ResponsesKey      string // GATEWAY_RESPONSES_KEY: the key of the Responses API's encrypted_content
}

// Load reads the configuration through getenv.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		UpstreamURL:       strings.TrimSpace(getenv("GATEWAY_UPSTREAM_URL")),
		Project:           strings.TrimSpace(getenv("GOOGLE_CLOUD_PROJECT")),
		Location:          p.str("GOOGLE_CLOUD_LOCATION", "global"),
		GeminiAPIKey:      strings.TrimSpace(getenv("GEMINI_API_KEY")),
		APIKeys:           strings.TrimSpace(getenv("GATEWAY_API_KEYS")),
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
		StoreDir:          strings.TrimSpace(getenv("GATEWAY_STORE_DIR")),
		ResponsesKey:      getenv("GATEWAY_RESPONSES_KEY"),
	}
	if v := getenv("GOOGLE_CLOUD_PROJECT"); v == "" {
		c.Project = strings.TrimSpace(getenv("GCP_PROJECT"))
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
			c.BackendNotice = "no Google credentials configured (GOOGLE_CLOUD_PROJECT or GEMINI_API_KEY): using the offline Gemini emulator"
		}
	default:
		p.fail("GATEWAY_BACKEND", b, "vertex, gemini or emulator")
	}
	c.FetchHTTPMedia = p.bool("GATEWAY_FETCH_HTTP_MEDIA", c.Backend != gemini.Vertex)
	if p.err != nil {
		return Config{}, p.err
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
	}
	return c, nil
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

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if n, err2 := strconv.Atoi(v); err2 == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
		p.fail(name, v, "a duration such as 300s or 5m")
		return def
	}
	if d <= 0 {
		p.fail(name, v, "a positive duration")
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
