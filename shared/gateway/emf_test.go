package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geminigateway/gateway/shared/gateway"
)

// requestLog is the gateway's real JSON logger writing into memory. The request line is written
// after the response is flushed, so tests wait for it rather than read it at once.
type requestLog struct {
	mu    sync.Mutex
	lines [][]byte
	added chan struct{}
}

func newRequestLog() *requestLog { return &requestLog{added: make(chan struct{}, 1)} }

func (l *requestLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, bytes.Clone(p))
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default: // a wake-up is already pending
	}
	return len(p), nil
}

// request waits for the next request log line and returns it decoded with numbers kept as
// json.Number, so integers and floats stay distinguishable.
func (l *requestLog) request(t *testing.T) (map[string]any, []byte) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for i, b := range l.lines {
			m := decodeLine(t, b)
			if m["message"] == "request" {
				l.lines = slices.Delete(l.lines, i, i+1)
				l.mu.Unlock()
				return m, b
			}
		}
		l.mu.Unlock()
		select {
		case <-l.added:
		case <-deadline:
			t.Fatal("no request log line was written")
		}
	}
}

func decodeLine(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("log line is not one JSON object: %v\n%s", err, b)
	}
	if dec.More() {
		t.Fatalf("log line has data after its JSON object:\n%s", b)
	}
	return m
}

func withLog(l *requestLog, namespace string) func(*gateway.Options) {
	return func(o *gateway.Options) {
		o.Logger = gateway.NewLogger(l, slog.LevelInfo)
		o.EMFNamespace = namespace
		o.TraceProject = "test-project"
	}
}

// emfUnits are the units a MetricDefinition may name (the specification's JSON schema).
var emfUnits = strings.Fields(`Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits
	Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second
	Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None`)

// validateEMF checks a decoded log line against the CloudWatch embedded metric format
// specification (testdata/emf/SOURCES.md) and returns what it declares: the dimension sets and
// the metric names. Each rule it checks is a MUST of the specification or of its JSON schema.
func validateEMF(root map[string]any) (dims [][]string, metrics []string, err error) {
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("_aws is missing or not an object")
	}
	ts, ok := aws["Timestamp"].(json.Number)
	if !ok {
		return nil, nil, fmt.Errorf("_aws.Timestamp is missing or not a number")
	}
	if _, err := ts.Int64(); err != nil {
		return nil, nil, fmt.Errorf("_aws.Timestamp %s is not an integer of milliseconds", ts)
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok {
		return nil, nil, fmt.Errorf("_aws.CloudWatchMetrics is missing or not an array")
	}
	for _, d := range directives {
		dir, ok := d.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("a MetricDirective is not an object")
		}
		ns, ok := dir["Namespace"].(string)
		if !ok || len(ns) < 1 || len(ns) > 255 {
			return nil, nil, fmt.Errorf("Namespace %v is not a string of 1-255 characters", dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok || len(sets) < 1 {
			return nil, nil, fmt.Errorf("Dimensions is not a non-empty array of DimensionSets")
		}
		for _, s := range sets {
			set, ok := s.([]any)
			if !ok || len(set) > 9 {
				return nil, nil, fmt.Errorf("DimensionSet %v is not an array of at most 9 keys", s)
			}
			var keys []string
			for _, k := range set {
				name, ok := k.(string)
				if !ok || name == "" {
					return nil, nil, fmt.Errorf("dimension reference %v is not a non-empty string", k)
				}
				if v, ok := root[name].(string); !ok || v == "" {
					return nil, nil, fmt.Errorf("dimension %q has no string target on the root node (%v)", name, root[name])
				}
				keys = append(keys, name)
			}
			dims = append(dims, keys)
		}
		defs, ok := dir["Metrics"].([]any)
		if !ok || len(defs) > 100 {
			return nil, nil, fmt.Errorf("Metrics is not an array of at most 100 MetricDefinitions")
		}
		for _, m := range defs {
			def, ok := m.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("a MetricDefinition is not an object")
			}
			name, ok := def["Name"].(string)
			if !ok || name == "" {
				return nil, nil, fmt.Errorf("MetricDefinition.Name %v is not a non-empty string", def["Name"])
			}
			if _, ok := root[name].(json.Number); !ok {
				return nil, nil, fmt.Errorf("metric %q has no numeric target on the root node (%v)", name, root[name])
			}
			if u, ok := def["Unit"]; ok {
				if s, ok := u.(string); !ok || !slices.Contains(emfUnits, s) {
					return nil, nil, fmt.Errorf("metric %q has unit %v, not a CloudWatch unit", name, u)
				}
			}
			metrics = append(metrics, name)
		}
	}
	return dims, metrics, nil
}

// TestEMFValidatorAcceptsTheSpecExample pins the validator itself: the specification's own
// example passes, and each broken variant of it fails, so a pass below means something.
func TestEMFValidatorAcceptsTheSpecExample(t *testing.T) {
	b, err := os.ReadFile("testdata/emf/spec-example.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := validateEMF(decodeLine(t, b)); err != nil {
		t.Fatalf("the specification's example fails validation: %v", err)
	}
	broken := map[string]func(m map[string]any){
		"no _aws":                  func(m map[string]any) { delete(m, "_aws") },
		"no metric target":         func(m map[string]any) { delete(m, "time") },
		"string metric target":     func(m map[string]any) { m["time"] = "100" },
		"no dimension target":      func(m map[string]any) { delete(m, "functionVersion") },
		"numeric dimension target": func(m map[string]any) { m["functionVersion"] = json.Number("1") },
		"float timestamp":          func(m map[string]any) { m["_aws"].(map[string]any)["Timestamp"] = json.Number("1.5") },
		"bad unit": func(m map[string]any) {
			m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any)[0].(map[string]any)["Unit"] = "Tokens"
		},
	}
	for name, mutate := range broken {
		m := decodeLine(t, b)
		mutate(m)
		if _, _, err := validateEMF(m); err == nil {
			t.Errorf("%s: validation passed", name)
		}
	}
}

// TestEMFOnLambda pins the request line on Lambda: a valid EMF document whose metric
// definitions are exactly the numeric usage fields on the line, with dimensions model and
// status_class only; the key name is a plain member, never a dimension.
func TestEMFOnLambda(t *testing.T) {
	logs := newRequestLog()
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), withLog(logs, "GeminiGateway/test"))
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}`)
	if _, _ = io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	line, raw := logs.request(t)
	dims, metrics, err := validateEMF(line)
	if err != nil {
		t.Fatalf("EMF: %v\n%s", err, raw)
	}
	if want := [][]string{{"model", "status_class"}, {"status_class"}}; fmt.Sprint(dims) != fmt.Sprint(want) {
		t.Errorf("dimension sets = %v, want %v", dims, want)
	}
	wantMetrics := []string{"cached_tokens", "completion_tokens", "latency_ms", "prompt_tokens", "reasoning_tokens", "requests", "upstream_throttled"}
	sort.Strings(metrics)
	if fmt.Sprint(metrics) != fmt.Sprint(wantMetrics) {
		t.Errorf("metrics = %v, want %v", metrics, wantMetrics)
	}
	ns := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"]
	if ns != "GeminiGateway/test" {
		t.Errorf("namespace = %v", ns)
	}
	want := map[string]any{"model": "gemini-2.5-flash", "status_class": "2xx", "key": "tester", "requests": json.Number("1"),
		"prompt_tokens": json.Number("8"), "completion_tokens": json.Number("8"), "reasoning_tokens": json.Number("5"),
		"cached_tokens": json.Number("2"), "upstream_throttled": json.Number("0")}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %#v, want %#v", k, line[k], v)
		}
	}
	ts, _ := line["_aws"].(map[string]any)["Timestamp"].(json.Number).Int64()
	if d := time.Since(time.UnixMilli(ts)); math.Abs(d.Hours()) > 1 {
		t.Errorf("_aws.Timestamp %d is not the request's time in milliseconds", ts)
	}
	if bytes.Contains(raw, []byte(testKey)) || bytes.Contains(raw, []byte("Hi")) {
		t.Errorf("the log line holds key material or prompt text:\n%s", raw)
	}
}

// TestEMFDimensions pins which requests have a model dimension: an upstream 429 does (and counts
// as upstream_throttled), a request refused as the client's mistake does not (its model name is
// whatever the client typed), and a request without usage declares no token metrics.
func TestEMFDimensions(t *testing.T) {
	rateLimited, err := os.ReadFile("../translate/testdata/wire/13-error-429-RESOURCE_EXHAUSTED-QuotaFailure-RetryInfo.mldev.adapted.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		upstream  http.HandlerFunc
		body      string
		status    int
		dims      string
		throttled string
		upStatus  string
	}{
		{"upstream 429", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(429)
			_, _ = w.Write(rateLimited)
		}, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`, 429, "[[model status_class] [status_class]]", "1", "429"},
		{"unknown model", jsonResponse(thoughtfulAnswer), `{"model":"made-up-model-1234","messages":[{"role":"user","content":"x"}]}`, 404, "[[status_class]]", "0", ""},
		{"upstream 500", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `{"error":{"code":500,"message":"internal","status":"INTERNAL"}}`)
		}, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`, 502, "[[model status_class] [status_class]]", "0", "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := newRequestLog()
			g := newGateway(t, newUpstream(t, tt.upstream), withLog(logs, "GeminiGateway/test"))
			resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, tt.body)
			if _, _ = io.ReadAll(resp.Body); resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			line, raw := logs.request(t)
			dims, metrics, err := validateEMF(line)
			if err != nil {
				t.Fatalf("EMF: %v\n%s", err, raw)
			}
			if fmt.Sprint(dims) != tt.dims {
				t.Errorf("dimension sets = %v, want %s", dims, tt.dims)
			}
			sort.Strings(metrics)
			if want := "[latency_ms requests upstream_throttled]"; fmt.Sprint(metrics) != want {
				t.Errorf("metrics = %v, want %s", metrics, want)
			}
			if got := fmt.Sprint(line["upstream_throttled"]); got != tt.throttled {
				t.Errorf("upstream_throttled = %s, want %s", got, tt.throttled)
			}
			if got, _ := line["upstream_status"].(json.Number); string(got) != tt.upStatus {
				t.Errorf("upstream_status = %q, want %q", got, tt.upStatus)
			}
		})
	}
}

// TestNoEMFOffLambda pins that elsewhere the line carries no EMF block and none of the members
// that exist only for it, while the usage fields every platform reads are still there.
func TestNoEMFOffLambda(t *testing.T) {
	logs := newRequestLog()
	g := newGateway(t, newUpstream(t, jsonResponse(thoughtfulAnswer)), withLog(logs, ""))
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}`)
	if _, _ = io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	line, raw := logs.request(t)
	for _, k := range []string{"_aws", "requests", "upstream_throttled"} {
		if _, ok := line[k]; ok {
			t.Errorf("%s is on the line off Lambda:\n%s", k, raw)
		}
	}
	if line["status_class"] != "2xx" || line["cached_tokens"] != json.Number("2") {
		t.Errorf("usage fields missing:\n%s", raw)
	}
}

// TestEMFStreamHasNoLatencyMetric pins that a streamed request declares no latency metric (its
// duration is the answer's length) while the line keeps latency_ms for Logs Insights.
func TestEMFStreamHasNoLatencyMetric(t *testing.T) {
	logs := newRequestLog()
	g := newGateway(t, newUpstream(t, answer), withLog(logs, "GeminiGateway/test"))
	resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`)
	if _, _ = io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	line, raw := logs.request(t)
	_, metrics, err := validateEMF(line)
	if err != nil {
		t.Fatalf("EMF: %v\n%s", err, raw)
	}
	if slices.Contains(metrics, "latency_ms") || !slices.Contains(metrics, "requests") || !slices.Contains(metrics, "prompt_tokens") {
		t.Errorf("metrics = %v, want requests and tokens but no latency_ms", metrics)
	}
	if _, ok := line["latency_ms"].(json.Number); !ok || line["stream"] != true {
		t.Errorf("line lost latency_ms or stream:\n%s", raw)
	}
}

// TestAWSModuleReadsEMFMetrics pins the AWS module's dashboard and alarms to the metrics the
// request line really declares: every metric name terraform/aws/usage.tf reads is one that a
// real line's EMF block defines, and every dimension it filters on is one the block uses.
func TestAWSModuleReadsEMFMetrics(t *testing.T) {
	tf, err := os.ReadFile("../../terraform/aws/usage.tf")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	dimensions := map[string]bool{}
	for _, body := range []string{
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`,
	} {
		logs := newRequestLog()
		g := newGateway(t, newUpstream(t, answer), withLog(logs, "GeminiGateway/test"))
		resp := rawPost(t, g.srv.URL+"/v1/chat/completions", testKey, body)
		_, _ = io.ReadAll(resp.Body)
		line, raw := logs.request(t)
		dims, metrics, err := validateEMF(line)
		if err != nil {
			t.Fatalf("EMF: %v\n%s", err, raw)
		}
		for _, m := range metrics {
			declared[m] = true
		}
		for _, set := range dims {
			for _, d := range set {
				dimensions[d] = true
			}
		}
	}
	read := map[string]bool{}
	for _, re := range []string{`metric_name\s*=\s*"([A-Za-z0-9_]+)"`, `MetricName=\\"([A-Za-z0-9_]+)\\"`, `local\.metrics_namespace,\s*"([A-Za-z0-9_]+)"`} {
		for _, m := range regexp.MustCompile(re).FindAllSubmatch(tf, -1) {
			read[string(m[1])] = true
		}
	}
	if len(read) < 4 {
		t.Fatalf("found only %v metric references in usage.tf; the patterns no longer match it", read)
	}
	for m := range read {
		if !declared[m] {
			t.Errorf("terraform/aws/usage.tf reads metric %q, which no request line declares (declared: %v)", m, declared)
		}
	}
	for _, m := range regexp.MustCompile(`(?:dimensions\s*=\s*\{\s*|"requests",\s*"|,model,)([a-z_]+)`).FindAllSubmatch(tf, -1) {
		if d := string(m[1]); !dimensions[d] {
			t.Errorf("terraform/aws/usage.tf filters on dimension %q, which the EMF block does not use", d)
		}
	}
	if !bytes.Contains(tf, []byte(`metrics_namespace = "GeminiGateway/${local.function_name}"`)) {
		t.Error(`terraform/aws/usage.tf no longer names the namespace "GeminiGateway/${local.function_name}", which config.MetricsNamespace builds from AWS_LAMBDA_FUNCTION_NAME`)
	}
}
