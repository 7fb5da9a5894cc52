package config

import "testing"

// TestMetricsNamespaceOnLambda pins that the EMF namespace is set only where the Lambda runtime
// names the function (AWS_LAMBDA_FUNCTION_NAME), one namespace per function so two deployments
// in one account and region never mix their metrics.
func TestMetricsNamespaceOnLambda(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, ""},
		{map[string]string{"K_SERVICE": "gemini-gateway"}, ""},
		{map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "gemini-gateway"}, "GeminiGateway/gemini-gateway"},
	} {
		c, err := Load(env(tc.env))
		if err != nil || c.MetricsNamespace != tc.want {
			t.Errorf("%v: MetricsNamespace = %q, %v; want %q", tc.env, c.MetricsNamespace, err, tc.want)
		}
	}
}
