#!/usr/bin/env bash
# install-tools.sh installs the developer tools this repo pins into ./bin with `go install`.
#
# Run it from the repository root. It is idempotent: a tool already in ./bin that was built
# from the pinned module version is left alone (the version is read from the binary's build
# info with `go version -m`, so no tool is executed to ask it). Only the Go module proxy is
# needed; nothing is downloaded from anywhere else.
#
#   terraform   github.com/hashicorp/terraform            v1.8.5  (newest 1.x that `go install`
#                                                                   builds: 1.9+ need replace
#                                                                   directives; `terraform test`
#                                                                   needs >= 1.6; BUSL-1.1)
#   tflint      github.com/terraform-linters/tflint       v0.64.0 (bundled terraform ruleset)
#
# staticcheck is not built here: it is a `tool` directive in go.mod (honnef.co/go/tools v0.8.2),
# so its version is pinned with our dependencies and `go tool staticcheck ./...` builds and runs
# it. terraform and tflint stay here because as `tool` directives their whole module graphs
# (terraform's is hundreds of modules) would join ours and could raise the versions of our own
# dependencies; built outside our module they cannot.
#
# These are large builds (terraform takes several minutes on two cores).
set -euo pipefail

root=$(pwd)
bindir="$root/bin"
mkdir -p "$bindir"

# tool NAME PACKAGE MODULE VERSION
tools=(
	"terraform github.com/hashicorp/terraform github.com/hashicorp/terraform v1.8.5"
	"tflint github.com/terraform-linters/tflint github.com/terraform-linters/tflint v0.64.0"
)

# installed_version prints the version of module $2 that binary $1 was built from, or nothing.
installed_version() {
	local bin=$1 mod=$2
	[[ -x $bin ]] || return 0
	go version -m "$bin" 2>/dev/null | awk -v m="$mod" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}

# Build outside any module so the repository's go.mod (and its go directive) plays no part.
export GOBIN="$bindir"
cd "${TMPDIR:-/tmp}"

status=0
for entry in "${tools[@]}"; do
	read -r name pkg mod version <<<"$entry"
	have=$(installed_version "$bindir/$name" "$mod")
	if [[ $have == "$version" ]]; then
		echo "install-tools: $name $version already installed"
		continue
	fi
	echo "install-tools: installing $name $version (had: ${have:-none})"
	if ! go install "$pkg@$version"; then
		echo "install-tools: FAILED to install $name $version" >&2
		status=1
		continue
	fi
	have=$(installed_version "$bindir/$name" "$mod")
	if [[ $have != "$version" ]]; then
		echo "install-tools: $name reports module version '${have}', want $version" >&2
		status=1
	fi
done
exit $status
