// Package googleauth builds the Google credentials the gateway uses for Vertex AI and Secret
// Manager: workload identity federation when running outside Google Cloud (AWS Lambda), and
// Application Default Credentials everywhere else (Cloud Functions' metadata server, a
// developer's gcloud login, GOOGLE_APPLICATION_CREDENTIALS).
package googleauth

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
)

// Scope is the OAuth scope requested for every token: Vertex AI and Secret Manager both accept
// it, and IAM on the service account decides what the token can do.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// ExternalAccountEnv names the setting holding a workload identity federation credential
// configuration (type external_account), as `gcloud iam workload-identity-pools
// create-cred-config --aws` writes it. It holds no secret. shared/config reads it.
const ExternalAccountEnv = "GOOGLE_EXTERNAL_ACCOUNT_JSON"

// Credentials returns the gateway's Google credentials. Use the result as the
// auth.TokenProvider of the Vertex client and with option.WithAuthCredentials for Secret
// Manager; tokens are cached and refreshed by the library.
//
// If externalAccount (the setting GOOGLE_EXTERNAL_ACCOUNT_JSON) is set, it is loaded as an external_account configuration:
// its JSON itself or, when it does not start with "{", the path of a file holding it. On
// Lambda this is federation from AWS (credential_source.environment_id "aws1"): on each token
// refresh the library reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
// AWS_REGION from the process environment itself (no IMDS call is made
// when they are set, as they always are on Lambda), signs an STS GetCallerIdentity request with
// them, exchanges it at token_url (Google STS) and, when service_account_impersonation_url is
// set, impersonates that service account.
//
// Otherwise it uses Application Default Credentials (credentials.DetectDefault), which read
// GOOGLE_APPLICATION_CREDENTIALS, the gcloud well-known file and the metadata server from the
// process environment.
//
// hc, when not nil, carries the token exchange and impersonation requests (STS, IAM
// Credentials; not the metadata server). No request is made until the first token is asked
// for, so a missing permission shows up on the first upstream call, not here.
func Credentials(ctx context.Context, externalAccount string, hc *http.Client) (*auth.Credentials, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := &credentials.DetectOptions{Scopes: []string{Scope}, Client: hc}
	if v := strings.TrimSpace(externalAccount); v != "" {
		b := []byte(v)
		if !strings.HasPrefix(v, "{") {
			var err error
			if b, err = os.ReadFile(v); err != nil {
				return nil, fmt.Errorf("%s: %w", ExternalAccountEnv, err)
			}
		}
		creds, err := credentials.NewCredentialsFromJSON(credentials.ExternalAccount, b, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ExternalAccountEnv, err)
		}
		return creds, nil
	}
	creds, err := credentials.DetectDefault(opts)
	if err != nil {
		return nil, fmt.Errorf("google application default credentials: %w", err)
	}
	return creds, nil
}
