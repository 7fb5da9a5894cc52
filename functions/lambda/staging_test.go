package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	oai "github.com/openai/openai-go/v3"
	oaioption "github.com/openai/openai-go/v3/option"
	gapioption "google.golang.org/api/option"

	"github.com/geminigateway/gateway/shared/config"
)

const (
	stagingBucket = "gateway-staging"
	googleToken   = "impersonated-token"
	jobsPath      = "/v1/projects/proj/locations/us-central1/batchPredictionJobs"
	answerText    = "answered by the Vertex batch"
)

// vertexBatchFake is Google for a Lambda on the vertex backend: STS and IAM Credentials for the
// workload identity federation (as in app's TestVertexThroughWorkloadIdentityFederation), and
// Vertex AI batch prediction, which reads the job's input from the staging bucket (the
// fake-gcs-server gcs) and writes its output lines there, and refuses calls without the
// impersonated token.
type vertexBatchFake struct {
	t   *testing.T
	gcs *fakestorage.Server

	mu      sync.Mutex
	state   string
	input   string // staged input object
	out     string // output prefix
	lines   []map[string]json.RawMessage
	creates int
}

func (f *vertexBatchFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v1/token":
		_, _ = io.WriteString(w, `{"access_token":"federated-token","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}`)
		return
	case strings.HasSuffix(r.URL.Path, ":generateAccessToken"):
		if r.Header.Get("Authorization") != "Bearer federated-token" {
			w.WriteHeader(401)
			return
		}
		_, _ = io.WriteString(w, `{"accessToken":"`+googleToken+`","expireTime":"2099-01-01T00:00:00Z"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+googleToken {
		f.t.Errorf("Vertex call %s without the federated token", r.URL.Path)
		w.WriteHeader(401)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == jobsPath:
		var body struct {
			DisplayName string `json:"displayName"`
			Model       string `json:"model"`
			InputConfig struct {
				InstancesFormat string `json:"instancesFormat"`
				GcsSource       struct {
					URIs []string `json:"uris"`
				} `json:"gcsSource"`
			} `json:"inputConfig"`
			OutputConfig struct {
				PredictionsFormat string `json:"predictionsFormat"`
				GcsDestination    struct {
					OutputURIPrefix string `json:"outputUriPrefix"`
				} `json:"gcsDestination"`
			} `json:"outputConfig"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		err := dec.Decode(&body)
		var in, out string
		var ok, ok2 bool
		if err == nil && len(body.InputConfig.GcsSource.URIs) == 1 {
			in, ok = strings.CutPrefix(body.InputConfig.GcsSource.URIs[0], "gs://"+stagingBucket+"/")
			out, ok2 = strings.CutPrefix(body.OutputConfig.GcsDestination.OutputURIPrefix, "gs://"+stagingBucket+"/")
		}
		if !ok || !ok2 || body.Model != "publishers/google/models/gemini-2.5-flash" {
			f.t.Errorf("create: %+v, %v", body, err)
			w.WriteHeader(400)
			return
		}
		// Vertex reads the input from the bucket: it must be there, in the staging bucket.
		obj, err := f.gcs.GetObject(stagingBucket, in)
		if err != nil {
			f.t.Errorf("staged input %s: %v", in, err)
			w.WriteHeader(400)
			return
		}
		for line := range bytes.SplitSeq(bytes.TrimSpace(obj.Content), []byte("\n")) {
			var l map[string]json.RawMessage
			if err := json.Unmarshal(line, &l); err != nil || len(l["key"]) == 0 || !bytes.Contains(l["request"], []byte(`"contents"`)) {
				f.t.Errorf("staged line %s: %v", line, err)
			}
			f.lines = append(f.lines, l)
		}
		f.creates++
		f.state, f.input, f.out = "JOB_STATE_PENDING", in, out
		_, _ = io.WriteString(w, `{"name":"projects/proj/locations/us-central1/batchPredictionJobs/42","state":"JOB_STATE_PENDING"}`)
	case r.Method == http.MethodGet && r.URL.Path == jobsPath+"/42":
		switch f.state {
		case "JOB_STATE_PENDING":
			f.state = "JOB_STATE_RUNNING"
		case "JOB_STATE_RUNNING":
			f.state = "JOB_STATE_SUCCEEDED"
			var buf bytes.Buffer
			for _, l := range f.lines {
				fmt.Fprintf(&buf, `{"key":%s,"status":"","request":%s,"response":{"candidates":[{"content":{"role":"model","parts":[{"text":%q}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":5,"totalTokenCount":7}}}`+"\n",
					l["key"], l["request"], answerText)
			}
			f.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: stagingBucket,
				Name: f.out + "prediction-model-x/predictions.jsonl"}, Content: buf.Bytes()})
		}
		out := map[string]any{"name": "projects/proj/locations/us-central1/batchPredictionJobs/42", "state": f.state,
			"inputConfig": map[string]any{"instancesFormat": "jsonl", "gcsSource": map[string]any{"uris": []string{"gs://" + stagingBucket + "/" + f.input}}}}
		if f.state == "JOB_STATE_SUCCEEDED" {
			out["outputInfo"] = map[string]any{"gcsOutputDirectory": "gs://" + stagingBucket + "/" + f.out + "prediction-model-x"}
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(404)
	}
}

// TestVertexBatchThroughStagingBucket pins Vertex batches from AWS: on the vertex backend with
// an S3 store (gofakes3) and GATEWAY_VERTEX_STAGING_BUCKET (fake-gcs-server), a batch created
// through the official OpenAI client runs as a Vertex AI batch prediction job whose input was
// staged in the Cloud Storage bucket, the bucket reached with the same federated Google token
// as Vertex (no request to it without it), the output file lands in the S3 store with the
// Vertex answers, and the staged input and Vertex's outputs are deleted once read.
func TestVertexBatchThroughStagingBucket(t *testing.T) {
	ctx := t.Context()
	// The S3 store.
	s3fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(s3fake.Close)
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(s3fake.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gateway-store")}); err != nil {
		t.Fatal(err)
	}
	// The staging bucket, which only answers requests carrying the federated token.
	var (
		gcsMu      sync.Mutex
		gcsCalls   int
		gcsHandler http.Handler // set before the first request
	)
	gcsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+googleToken {
			t.Errorf("staging bucket %s %s without the federated token (%q)", r.Method, r.URL.Path, r.Header.Get("Authorization"))
			w.WriteHeader(401)
			return
		}
		gcsMu.Lock()
		gcsCalls++
		gcsMu.Unlock()
		gcsHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(gcsSrv.Close)
	// Downloads go to the endpoint's host: the fake serves them as its public host.
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, Scheme: "http",
		PublicHost: strings.TrimPrefix(gcsSrv.URL, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: stagingBucket})
	gcsHandler = gcs.HTTPHandler()
	// Google: STS, IAM and Vertex.
	vf := &vertexBatchFake{t: t, gcs: gcs}
	google := httptest.NewServer(http.HandlerFunc(vf.serve))
	t.Cleanup(google.Close)

	extAccount, _ := json.Marshal(map[string]any{
		"type":                              "external_account",
		"audience":                          "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/aws",
		"subject_token_type":                "urn:ietf:params:aws:token-type:aws4_request",
		"token_url":                         google.URL + "/v1/token",
		"service_account_impersonation_url": google.URL + "/v1/projects/-/serviceAccounts/gw@proj.iam.gserviceaccount.com:generateAccessToken",
		"credential_source": map[string]any{
			"environment_id":                 "aws1",
			"region_url":                     "http://169.254.169.254/latest/meta-data/placement/availability-zone",
			"url":                            "http://169.254.169.254/latest/meta-data/iam/security-credentials",
			"regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
		},
	})
	// What Lambda puts in the environment, read by the Google auth library itself.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session",
		"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "", "GOOGLE_AUTH_TRUST_BOUNDARY_ENABLED": "", "GOOGLE_APPLICATION_CREDENTIALS": "",
		"STORAGE_EMULATOR_HOST": "", "HOME": t.TempDir()} {
		t.Setenv(k, v)
	}
	env := map[string]string{"GATEWAY_BACKEND": "vertex", "GOOGLE_CLOUD_PROJECT": "proj", "GOOGLE_CLOUD_LOCATION": "us-central1",
		"GATEWAY_UPSTREAM_URL": google.URL, "GOOGLE_EXTERNAL_ACCOUNT_JSON": string(extAccount), "GATEWAY_API_KEYS": "test-key-123456",
		"GATEWAY_STORE_BUCKET": "gateway-store", "GATEWAY_VERTEX_STAGING_BUCKET": stagingBucket}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	lc, err := assemble(ctx, cfg, s3c, gapioption.WithEndpoint(gcsSrv.URL+"/storage/v1/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lc.Close)
	srv := httptest.NewServer(lc.Handler)
	t.Cleanup(srv.Close)
	c := oai.NewClient(oaioption.WithBaseURL(srv.URL+"/v1"), oaioption.WithAPIKey("test-key-123456"), oaioption.WithMaxRetries(0))

	input := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"question one"}]}}` + "\n" +
		`{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"question two"}]}}` + "\n"
	f, err := c.Files.New(ctx, oai.FileNewParams{File: oai.File(strings.NewReader(input), "input.jsonl", "application/jsonl"), Purpose: oai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Batches.New(ctx, oai.BatchNewParams{InputFileID: f.ID, Endpoint: oai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: oai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	vf.mu.Lock()
	if vf.creates != 1 || len(vf.lines) != 2 {
		t.Fatalf("Vertex got %d jobs with %d lines, want 1 with 2", vf.creates, len(vf.lines))
	}
	vf.mu.Unlock()
	for deadline := time.Now().Add(20 * time.Second); b.Status != oai.BatchStatusCompleted; time.Sleep(5 * time.Millisecond) {
		if b, err = c.Batches.Get(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) || b.Status == oai.BatchStatusFailed {
			t.Fatalf("batch %s: %+v", b.Status, b.Errors)
		}
	}
	if b.RequestCounts.Completed != 2 || b.OutputFileID == "" {
		t.Fatalf("batch ended with %+v", b.RequestCounts)
	}
	resp, err := c.Files.Content(ctx, b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, cid := range []string{`"custom_id":"a"`, `"custom_id":"b"`} {
		if !strings.Contains(string(out), cid) {
			t.Errorf("output lacks %s:\n%s", cid, out)
		}
	}
	if n := strings.Count(string(out), answerText); n != 2 {
		t.Errorf("output has %d Vertex answers, want 2:\n%s", n, out)
	}
	// The output file is in the S3 store; nothing is left in the staging bucket.
	objs, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("gateway-store")})
	if err != nil || len(objs.Contents) == 0 {
		t.Errorf("store bucket: %+v, %v", objs, err)
	}
	left, err := gcs.ListObjectsWithOptionsPaginated(stagingBucket, fakestorage.ListOptions{})
	if err != nil || len(left.Objects) != 0 {
		names := []string{}
		for _, o := range left.Objects {
			names = append(names, o.Name)
		}
		t.Errorf("staging bucket after the batch: %v, %v", names, err)
	}
	gcsMu.Lock()
	defer gcsMu.Unlock()
	if gcsCalls == 0 {
		t.Error("the staging bucket was never called")
	}
}
