// Package packagetest holds the tests of the deployment packaging (scripts/package.sh,
// scripts/zipdir) and of the smoke test (scripts/smoke.sh). It has no code of its own.
//
// TestGCFBuildpack builds dist/gcf-source.zip into a temporary directory and then does what
// Google's Go buildpack does with it on Cloud Build (GoogleCloudPlatform/buildpacks,
// cmd/go/functions_framework): moves the archive into serverless_function_source_code/, parses
// the root package, writes the declarative functions.local/app/main.go, runs go mod tidy and
// go build, and serves each entry point (Gateway, PubSubJob, StorageJob) with FUNCTION_TARGET
// and PORT, as Cloud Run does. Everything runs offline: GOPROXY=off and the module cache that
// building the repository has filled, loopback servers only (the gateway's offline Gemini
// emulator, an in-process fake Cloud Storage).
package packagetest
