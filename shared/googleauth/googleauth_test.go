package googleauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	awsKeyID     = "ASIATESTKEYID000001"
	awsSecret    = "test/secret+access/key0000000000000000001"
	awsSession   = "IQoJb3JpZ2luX2VjEXAMPLE//session+token="
	awsRegion    = "eu-west-3"
	audience     = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/gateway/providers/aws"
	saEmail      = "gateway@example-project.iam.gserviceaccount.com"
	stsToken     = "ya29.federated-token-from-fake-sts"
	impToken     = "ya29.impersonated-token-from-fake-iam"
	metaToken    = "ya29.token-from-fake-metadata-server"
	impersonPath = "/v1/projects/-/serviceAccounts/" + saEmail + ":generateAccessToken"
	// The AWS URL the library signs. It is only signed, never requested: Google STS calls AWS
	// with it. SigV4 takes the service name ("sts") from the host's first label, which is why
	// this stays the real AWS host rather than the loopback server.
	awsVerifyURL = "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
)

// fakeGoogle is Google STS, IAM Credentials and the metadata server on loopback. It records
// what it receives.
type fakeGoogle struct {
	*httptest.Server

	mu         sync.Mutex
	stsForms   []url.Values
	impAuth    []string
	impBodies  []string
	metaQuery  []url.Values
	unexpected []string
}

func newFakeGoogle(t *testing.T) *fakeGoogle {
	f := &fakeGoogle{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGoogle) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/token":
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.stsForms = append(f.stsForms, r.PostForm)
		fmt.Fprintf(w, `{"access_token":%q,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}`, stsToken)
	case r.Method == http.MethodPost && r.URL.Path == impersonPath:
		b, _ := io.ReadAll(r.Body)
		f.impAuth = append(f.impAuth, r.Header.Get("Authorization"))
		f.impBodies = append(f.impBodies, string(b))
		fmt.Fprintf(w, `{"accessToken":%q,"expireTime":%q}`, impToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	case r.Method == http.MethodGet && r.URL.Path == "/computeMetadata/v1/instance/service-accounts/default/token":
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		f.metaQuery = append(f.metaQuery, r.URL.Query())
		fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, metaToken)
	default:
		f.unexpected = append(f.unexpected, r.Method+" "+r.URL.String())
		http.NotFound(w, r)
	}
}

// externalAccountJSON is what `gcloud iam workload-identity-pools create-cred-config --aws`
// writes, with the Google endpoints moved to the fake.
func (f *fakeGoogle) externalAccountJSON() string {
	return f.externalAccountJSONVerifying(awsVerifyURL)
}

func (f *fakeGoogle) externalAccountJSONVerifying(verifyURL string) string {
	b, _ := json.Marshal(map[string]any{
		"universe_domain":                   "googleapis.com",
		"type":                              "external_account",
		"audience":                          audience,
		"subject_token_type":                "urn:ietf:params:aws:token-type:aws4_request",
		"token_url":                         f.URL + "/v1/token",
		"service_account_impersonation_url": f.URL + impersonPath,
		"credential_source": map[string]any{
			"environment_id":                 "aws1",
			"region_url":                     "http://169.254.169.254/latest/meta-data/placement/availability-zone",
			"url":                            "http://169.254.169.254/latest/meta-data/iam/security-credentials",
			"regional_cred_verification_url": verifyURL,
		},
	})
	return string(b)
}

// loopbackClient refuses to dial anything but loopback and records what it refused, so a test
// proves that no request left the machine (the IMDS address in the config included).
type loopbackClient struct {
	mu      sync.Mutex
	refused []string
}

func (l *loopbackClient) client() *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				l.mu.Lock()
				l.refused = append(l.refused, addr)
				l.mu.Unlock()
				return nil, fmt.Errorf("test dialer: %s is not loopback", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// lambdaEnv sets what the Lambda runtime sets for the function's role, and keeps the library
// off the developer's own Google configuration and off optional Google lookups.
func lambdaEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", awsKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsSecret)
	t.Setenv("AWS_SESSION_TOKEN", awsSession)
	t.Setenv("AWS_REGION", awsRegion)
	t.Setenv("AWS_DEFAULT_REGION", "")
	isolateGoogleEnv(t)
}

func isolateGoogleEnv(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no gcloud well-known file
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("GOOGLE_AUTH_TRUST_BOUNDARY_ENABLED", "") // no regional access boundary lookup
	t.Setenv("GOOGLE_SDK_GO_LOGGING_LEVEL", "")
	t.Setenv("GCE_METADATA_HOST", "")
}

// TestWorkloadIdentityFederationFromAWS pins the Lambda path end to end against fake Google
// endpoints: the library signs an STS GetCallerIdentity request with the Lambda's AWS
// credentials from the environment (we recompute the SigV4 signature), exchanges it at Google
// STS for the pool audience, and returns the token IAM Credentials minted for the service
// account, cached.
func TestWorkloadIdentityFederationFromAWS(t *testing.T) {
	lambdaEnv(t)
	f := newFakeGoogle(t)
	lc := &loopbackClient{}

	creds, err := Credentials(t.Context(), f.externalAccountJSON(), lc.client())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC()
	tok, err := creds.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value != impToken || tok.Type != "Bearer" {
		t.Errorf("token = %q (%s), want the impersonated token %q", tok.Value, tok.Type, impToken)
	}
	if tok2, err := creds.Token(t.Context()); err != nil || tok2.Value != impToken {
		t.Errorf("second Token = %v, %v", tok2, err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.stsForms) != 1 || len(f.impBodies) != 1 {
		t.Fatalf("STS calls = %d, IAM calls = %d; want 1 each (tokens are cached)", len(f.stsForms), len(f.impBodies))
	}
	if len(f.unexpected) > 0 {
		t.Errorf("unexpected requests: %v", f.unexpected)
	}
	if len(lc.refused) > 0 {
		t.Errorf("tried to leave loopback: %v", lc.refused)
	}

	form := f.stsForms[0]
	for k, want := range map[string]string{
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"subject_token_type":   "urn:ietf:params:aws:token-type:aws4_request",
		"audience":             audience,
		"scope":                Scope,
	} {
		if got := form.Get(k); got != want {
			t.Errorf("STS %s = %q, want %q", k, got, want)
		}
	}
	checkSubjectToken(t, form.Get("subject_token"), start)

	if got := f.impAuth[0]; got != "Bearer "+stsToken {
		t.Errorf("IAM Authorization = %q, want the STS token", got)
	}
	var imp struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.Unmarshal([]byte(f.impBodies[0]), &imp); err != nil {
		t.Fatal(err)
	}
	if len(imp.Scope) != 1 || imp.Scope[0] != Scope {
		t.Errorf("IAM scope = %v, want [%s]", imp.Scope, Scope)
	}
}

// checkSubjectToken decodes the URL-encoded JSON subject token and verifies it is a
// GetCallerIdentity request signed with AWS SigV4 by the Lambda's credentials.
func checkSubjectToken(t *testing.T, subject string, start time.Time) {
	t.Helper()
	raw, err := url.QueryUnescape(subject)
	if err != nil {
		t.Fatalf("subject token is not URL-encoded: %v", err)
	}
	var req struct {
		URL     string `json:"url"`
		Method  string `json:"method"`
		Headers []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"headers"`
	}
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		t.Fatalf("subject token is not JSON: %v\n%s", err, raw)
	}
	wantURL := strings.Replace(awsVerifyURL, "{region}", awsRegion, 1)
	if req.URL != wantURL || req.Method != "POST" {
		t.Errorf("signed request = %s %s, want POST %s", req.Method, req.URL, wantURL)
	}
	h := map[string]string{}
	for _, kv := range req.Headers {
		h[strings.ToLower(kv.Key)] = kv.Value
	}
	for k, want := range map[string]string{
		"host":                         "sts." + awsRegion + ".amazonaws.com",
		"x-amz-security-token":         awsSession,
		"x-goog-cloud-target-resource": audience,
	} {
		if h[k] != want {
			t.Errorf("header %s = %q, want %q", k, h[k], want)
		}
	}
	amzDate := h["x-amz-date"]
	signedAt, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		t.Fatalf("x-amz-date %q: %v", amzDate, err)
	}
	if d := signedAt.Sub(start); d < -time.Minute || d > time.Minute {
		t.Errorf("x-amz-date %s is not about now (%s)", amzDate, start.Format(time.RFC3339))
	}

	// Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/sts/aws4_request, SignedHeaders=…, Signature=…
	authz := h["authorization"]
	scope := amzDate[:8] + "/" + awsRegion + "/sts/aws4_request"
	prefix := "AWS4-HMAC-SHA256 Credential=" + awsKeyID + "/" + scope + ", SignedHeaders="
	if !strings.HasPrefix(authz, prefix) {
		t.Fatalf("Authorization = %q, want prefix %q", authz, prefix)
	}
	signedHeaders, gotSig, ok := strings.Cut(strings.TrimPrefix(authz, prefix), ", Signature=")
	if !ok {
		t.Fatalf("Authorization has no Signature: %q", authz)
	}
	names := strings.Split(signedHeaders, ";")
	if want := []string{"host", "x-amz-date", "x-amz-security-token", "x-goog-cloud-target-resource"}; strings.Join(names, ";") != strings.Join(want, ";") {
		t.Errorf("SignedHeaders = %s, want %s", signedHeaders, strings.Join(want, ";"))
	}

	// SigV4, written out from the AWS specification rather than taken from the library.
	u, err := url.Parse(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	q := u.Query()
	qk := make([]string, 0, len(q))
	for k := range q {
		qk = append(qk, k)
	}
	sort.Strings(qk)
	var query []string
	for _, k := range qk {
		for _, v := range q[k] {
			query = append(query, awsEscape(k)+"="+awsEscape(v))
		}
	}
	var canonHeaders strings.Builder
	for _, n := range names {
		canonHeaders.WriteString(n + ":" + strings.Join(strings.Fields(h[n]), " ") + "\n")
	}
	emptyHash := sha256.Sum256(nil)
	canonical := strings.Join([]string{
		req.Method, path, strings.Join(query, "&"), canonHeaders.String(), signedHeaders, hex.EncodeToString(emptyHash[:]),
	}, "\n")
	crHash := sha256.Sum256([]byte(canonical))
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := []byte("AWS4" + awsSecret)
	for _, part := range []string{amzDate[:8], awsRegion, "sts", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	if want := hex.EncodeToString(hmacSHA256(key, stringToSign)); gotSig != want {
		t.Errorf("SigV4 signature = %s, recomputed %s\ncanonical request:\n%s", gotSig, want, canonical)
	}
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// awsEscape is SigV4's URI encoding: everything but unreserved characters, spaces as %20.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestVerificationURLIsOnlySigned pins why the tests keep the real AWS STS URL in
// regional_cred_verification_url: the library signs that request and hands it to Google STS
// inside the subject token but never sends it itself, so pointing it at the fake proves
// nothing about AWS and would sign for a service named after the host's first label.
func TestVerificationURLIsOnlySigned(t *testing.T) {
	lambdaEnv(t)
	f := newFakeGoogle(t)
	verify := f.URL + "/aws-sts?Action=GetCallerIdentity&Version=2011-06-15"
	creds, err := Credentials(t.Context(), f.externalAccountJSONVerifying(verify), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := creds.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.unexpected) > 0 {
		t.Errorf("the library requested %v itself", f.unexpected)
	}
	raw, _ := url.QueryUnescape(f.stsForms[0].Get("subject_token"))
	var req struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(raw), &req); err != nil || req.URL != verify || !strings.Contains(raw, "/127/aws4_request") {
		t.Errorf("subject token does not carry the loopback URL signed for service 127: %s", raw)
	}
}

// TestExternalAccountFromFile pins the other form of GOOGLE_EXTERNAL_ACCOUNT_JSON: a path to
// the configuration, as when it ships inside the Lambda zip.
func TestExternalAccountFromFile(t *testing.T) {
	lambdaEnv(t)
	f := newFakeGoogle(t)
	path := filepath.Join(t.TempDir(), "wif.json")
	if err := os.WriteFile(path, []byte(f.externalAccountJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	creds, err := Credentials(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.Token(t.Context())
	if err != nil || tok.Value != impToken {
		t.Fatalf("Token = %v, %v; want %s", tok, err, impToken)
	}
}

// TestExternalAccountRejectsOtherTypes pins that GOOGLE_EXTERNAL_ACCOUNT_JSON only loads an
// external_account configuration, never, say, a service account key pasted by mistake.
func TestExternalAccountRejectsOtherTypes(t *testing.T) {
	isolateGoogleEnv(t)
	_, err := Credentials(t.Context(), `{"type":"service_account","client_email":"x@y","private_key":"k"}`, nil)
	if err == nil || !strings.HasPrefix(err.Error(), ExternalAccountEnv+": ") || !strings.Contains(err.Error(), `expected type "external_account"`) {
		t.Errorf("err = %v", err)
	}
	_, err = Credentials(t.Context(), filepath.Join(t.TempDir(), "missing.json"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), ExternalAccountEnv+": ") {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestApplicationDefaultCredentialsFile pins the ADC path when GOOGLE_EXTERNAL_ACCOUNT_JSON
// is unset: GOOGLE_APPLICATION_CREDENTIALS is honoured (here with the same federation config).
func TestApplicationDefaultCredentialsFile(t *testing.T) {
	lambdaEnv(t)
	f := newFakeGoogle(t)
	path := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(path, []byte(f.externalAccountJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	creds, err := Credentials(t.Context(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.Token(t.Context())
	if err != nil || tok.Value != impToken {
		t.Fatalf("Token = %v, %v; want %s", tok, err, impToken)
	}
}

// TestApplicationDefaultCredentialsMetadata pins the Cloud Functions path: no configuration,
// so the token comes from the metadata server (here the fake, via GCE_METADATA_HOST) with the
// cloud-platform scope.
func TestApplicationDefaultCredentialsMetadata(t *testing.T) {
	isolateGoogleEnv(t)
	f := newFakeGoogle(t)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(f.URL, "http://"))
	creds, err := Credentials(t.Context(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.Token(t.Context())
	if err != nil || tok.Value != metaToken {
		t.Fatalf("Token = %v, %v; want %s", tok, err, metaToken)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.metaQuery) != 1 || f.metaQuery[0].Get("scopes") != Scope {
		t.Errorf("metadata token requests = %v, want one with scopes=%s", f.metaQuery, Scope)
	}
}
