package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/geminigateway/gateway/shared/gemini"
)

// usageAttrs appends the request log line's fields that usage reporting reads beyond the base
// line: status_class ("2xx"…), cached_tokens, upstream_status (the HTTP status of a Gemini
// error the request ended with, so upstream 429s are told from the per-key limit's) and, when
// EMFNamespace is set (on AWS Lambda), the CloudWatch embedded metric format block, so that
// CloudWatch extracts metrics from the line with no metric filters to keep in step.
//
// status is the worst status of the request: the status line sent, or the error of a stream
// that failed after its headers, so that a failed stream counts as the error it was.
func (h *Handler) usageAttrs(attrs []slog.Attr, rs *reqState, status int, lat time.Duration) []slog.Attr {
	class := statusClass(status)
	attrs = append(attrs, slog.String("status_class", class))
	if rs.usage != nil {
		attrs = append(attrs, slog.Int("cached_tokens", rs.usage.PromptTokensDetails.CachedTokens))
	}
	upstream := 0
	var ae *gemini.APIError
	if rs.err != nil && errors.As(rs.err.Cause, &ae) {
		upstream = ae.HTTPStatus
		attrs = append(attrs, slog.Int("upstream_status", upstream))
	}
	if h.o.EMFNamespace == "" {
		return attrs
	}
	throttled := 0
	if upstream == http.StatusTooManyRequests {
		throttled = 1
	}
	attrs = append(attrs, slog.Int("requests", 1), slog.Int("upstream_throttled", throttled))
	return append(attrs, emfBlock(h.o.EMFNamespace, rs.start.Add(lat), attrs, modelDimension(status)))
}

// statusClass is the status's class: "2xx", "4xx", "5xx"; "0xx" when nothing was answered.
func statusClass(status int) string {
	if c := status / 100 % 10; c >= 0 {
		return statusClasses[c] // no allocation per request
	}
	return strconv.Itoa(status/100%10) + "xx"
}

var statusClasses = [10]string{"0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx"}

// modelDimension reports whether a request with this status has its model as a metric
// dimension. A request refused as the client's mistake (4xx other than 429) does not: its model
// name is whatever the client sent, and every new dimension value is a new billed metric.
func modelDimension(status int) bool {
	return status/100 != 4 || status == http.StatusTooManyRequests
}

// emfMetrics are the numeric fields of the log line that CloudWatch extracts as metrics, with
// their units (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html).
var emfMetrics = []struct{ name, unit string }{
	{"requests", "Count"},
	{"latency_ms", "Milliseconds"},
	{"prompt_tokens", "Count"},
	{"completion_tokens", "Count"},
	{"reasoning_tokens", "Count"},
	{"cached_tokens", "Count"},
	{"upstream_throttled", "Count"},
}

type emfMetric struct {
	Name string
	Unit string
}

type emfDirective struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []emfMetric
}

// emfBlock returns the "_aws" member of an embedded metric format document for a log line whose
// root members are attrs. A metric is declared only when its field is on the line (a request
// without usage has no token fields), so every reference resolves as the specification requires;
// latency only for unary requests.
// The dimensions are status_class and, where modelDim allows and the line has one, model; the
// key name stays a plain member (searchable in Logs Insights, not a dimension), which bounds the
// number of metrics to models × status classes.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
func emfBlock(namespace string, at time.Time, attrs []slog.Attr, modelDim bool) slog.Attr {
	have := make(map[string]slog.Value, len(attrs))
	for _, a := range attrs {
		have[a.Key] = a.Value
	}
	d := emfDirective{Namespace: namespace, Dimensions: [][]string{{"status_class"}}}
	if v, ok := have["model"]; ok && v.Kind() == slog.KindString && v.String() != "" && modelDim {
		d.Dimensions = [][]string{{"model", "status_class"}, {"status_class"}}
	}
	// A stream's duration is as long as its answer, which says nothing of the gateway's health:
	// latency is a metric of unary requests only (it stays on every line for Logs Insights).
	streamed := have["stream"].Kind() == slog.KindBool && have["stream"].Bool()
	for _, m := range emfMetrics {
		if m.name == "latency_ms" && streamed {
			continue
		}
		switch have[m.name].Kind() {
		case slog.KindInt64, slog.KindFloat64, slog.KindUint64:
			d.Metrics = append(d.Metrics, emfMetric{Name: m.name, Unit: m.unit})
		}
	}
	return slog.Group("_aws",
		slog.Int64("Timestamp", at.UnixMilli()),
		slog.Any("CloudWatchMetrics", []emfDirective{d}))
}
