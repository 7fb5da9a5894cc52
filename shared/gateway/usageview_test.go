package gateway_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The files the Google Cloud module deploys: the view's SQL, the schema of the table the log
// sink streams into, and the log-based metrics' extractors.
const (
	viewSQL     = "../../terraform/gcp/usage/usage_daily.sql"
	tableSchema = "../../terraform/gcp/usage/requests_schema.json"
	usageTF     = "../../terraform/gcp/usage.tf"
	monitorTF   = "../../terraform/gcp/monitoring.tf"
)

type bqField struct {
	Name   string    `json:"name"`
	Type   string    `json:"type"`
	Fields []bqField `json:"fields"`
}

// liftedByLogging are the members of a structured log line that Cloud Logging moves out of
// jsonPayload into the LogEntry (https://cloud.google.com/logging/docs/structured-logging,
// "Special JSON fields in messages"); "message" stays in jsonPayload.
var liftedByLogging = []string{"severity", "time", "timestamp", "httpRequest", "logging.googleapis.com/trace",
	"logging.googleapis.com/spanId", "logging.googleapis.com/trace_sampled", "logging.googleapis.com/labels",
	"logging.googleapis.com/insertId", "logging.googleapis.com/operation", "logging.googleapis.com/sourceLocation"}

var nonColumnChars = regexp.MustCompile(`[^a-z0-9_]`)

// bigQueryPayload returns the jsonPayload columns a log sink makes of a request line, with their
// BigQuery types: names lowercased, other characters replaced by "_", leading underscores
// removed (https://cloud.google.com/logging/docs/export/bigquery, "Field naming conventions");
// JSON numbers arrive as protobuf Struct numbers, doubles, so as FLOAT.
func bigQueryPayload(t *testing.T, line map[string]any) map[string]string {
	t.Helper()
	cols := map[string]string{}
	for k, v := range line {
		if slices.Contains(liftedByLogging, k) {
			continue
		}
		name := strings.TrimLeft(nonColumnChars.ReplaceAllString(strings.ToLower(k), "_"), "_")
		switch v.(type) {
		case string:
			cols[name] = "STRING"
		case json.Number:
			cols[name] = "FLOAT"
		case bool:
			cols[name] = "BOOLEAN"
		case map[string]any:
			cols[name] = "RECORD"
		default:
			t.Fatalf("member %q has a JSON type (%T) with no plain column", k, v)
		}
	}
	return cols
}

// TestUsageViewReadsRealLogFields pins the BigQuery view and the log-based metrics to the request
// line the handler really writes: every jsonPayload field they read is in the table schema, and
// every schema field is on real lines with the type the sink gives it, so neither the view's
// creation nor the sink's streaming meets a missing column or a type mismatch.
func TestUsageViewReadsRealLogFields(t *testing.T) {
	sql, err := os.ReadFile(viewSQL)
	if err != nil {
		t.Fatal(err)
	}
	var schema []bqField
	b, err := os.ReadFile(tableSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("%s: %v", tableSchema, err)
	}
	top := map[string]bqField{}
	for _, f := range schema {
		top[f.Name] = f
	}
	if top["timestamp"].Type != "TIMESTAMP" || top["jsonPayload"].Type != "RECORD" {
		t.Fatalf("schema lacks timestamp TIMESTAMP or jsonPayload RECORD: %+v", schema)
	}
	want := map[string]string{}
	for _, f := range top["jsonPayload"].Fields {
		want[f.Name] = f.Type
	}

	// Real lines: a unary success with usage, a streamed success, an upstream 429, a 401.
	got := map[string]string{}
	var success map[string]any
	for _, c := range []struct {
		upstream http.HandlerFunc
		key      string
		body     string
	}{
		{jsonResponse(thoughtfulAnswer), testKey, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}`},
		{answer, testKey, `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`},
		{func(w http.ResponseWriter, r *http.Request) {
			googleError(w, 429, "RESOURCE_EXHAUSTED", quotaDetails("GenerateRequestsPerDayPerProjectPerModel", "20s"))
		}, testKey, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}`},
		{jsonResponse(thoughtfulAnswer), "wrong-key-0123456789", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}`},
	} {
		logs := newRequestLog()
		g := newGateway(t, newUpstream(t, c.upstream), withLog(logs, ""))
		resp := rawPost(t, g.srv.URL+"/v1/chat/completions", c.key, c.body)
		_, _ = io.ReadAll(resp.Body)
		line, raw := logs.request(t)
		if success == nil {
			success = line
		}
		if ts, ok := line["time"].(string); !ok {
			t.Errorf("line has no time for LogEntry.timestamp:\n%s", raw)
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("time %q is not RFC 3339: %v", ts, err)
		}
		for name, typ := range bigQueryPayload(t, line) {
			if w, ok := want[name]; ok && w != typ {
				t.Errorf("jsonPayload.%s is %s on a real line, the table schema says %s:\n%s", name, typ, w, raw)
			}
			got[name] = typ
		}
	}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("table schema has jsonPayload.%s %s, which no real request line carries (lines have %v)", name, typ, slices.Sorted(maps.Keys(got)))
		}
	}

	// What the view and the log-based metrics read.
	tf, err := os.ReadFile(usageTF)
	if err != nil {
		t.Fatal(err)
	}
	mon, err := os.ReadFile(monitorTF)
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`jsonPayload\.([A-Za-z0-9_]+)`)
	read := map[string]bool{}
	for _, src := range [][]byte{sql, tf, mon} {
		for _, m := range ref.FindAllSubmatch(src, -1) {
			read[string(m[1])] = true
		}
	}
	for _, name := range []string{"key", "model", "status", "message", "latency_ms", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"} {
		if !read[name] {
			t.Errorf("the view or the metrics do not read jsonPayload.%s", name)
		}
	}
	for name := range read {
		if _, ok := want[name]; !ok {
			t.Errorf("jsonPayload.%s is read by the view or a metric but is not in the table schema", name)
		}
	}
	if !regexp.MustCompile(`\bDATE\(timestamp\)`).Match(sql) {
		t.Error("the view does not group by DATE(timestamp)")
	}

	// A successful line carries every field usage_daily aggregates, with values.
	for _, k := range []string{"key", "model", "status", "latency_ms", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"} {
		if _, ok := success[k]; !ok {
			t.Errorf("the successful request's line has no %s", k)
		}
	}
}
