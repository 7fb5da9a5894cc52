#!/usr/bin/env bash
# package.sh builds the two deployment artifacts the Terraform modules upload (`make package`):
#
#   dist/gcf-source.zip  source archive for Cloud Functions (gen2); Google's Go buildpack compiles
#                        it (terraform/gcp: one archive behind the Gateway, PubSubJob and
#                        StorageJob functions)
#   dist/lambda.zip      `bootstrap` for AWS Lambda provided.al2023 on arm64 (terraform/aws)
#
# Usage (from the repository root; `make package` runs the first form):
#
#   scripts/package.sh [all]          both artifacts
#   scripts/package.sh gcf            dist/gcf-source.zip only
#   scripts/package.sh lambda         dist/lambda.zip only
#   scripts/package.sh stage-gcf DIR  only stage the Cloud Functions source tree into DIR (new or
#                                     empty), to look at it or run a build in it
#
# DIST (default dist) is where the archives go; GO (default go) is the Go command. Only Go and
# bash are needed: the archives are written by scripts/zipdir.
#
# Why the Cloud Functions archive is staged rather than zipped from the repository: the Go
# buildpack parses only the .go files at the ROOT of the archive, which must form one package
# that is not main, with go.mod beside them; it then generates functions.local/app/main.go that
# blank-imports that root package and calls funcframework.Start($PORT), runs `go mod tidy` (the
# modules are downloaded during the build; nothing is vendored) and compiles it. The function
# code lives in functions/gcf, so the archive gets:
#   - go.mod and go.sum, unchanged;
#   - the module's packages that functions/gcf needs on linux/amd64 (`go list -deps`): their
#     non-test .go files and embedded files only, so no _test.go files, no testdata, and
#     nothing from terraform/, scripts/, bin/ or dist/;
#   - a generated gcf_entry.go (package gcfentry) that blank-imports functions/gcf (its init
#     registers the functions) and functions-framework-go/functions (which makes the buildpack
#     pick its declarative main template instead of one that needs an exported symbol named
#     like the entry point).
# The build (`go build` of the staged tree for linux/amd64) is checked here before zipping.
#
# Both archives are reproducible (scripts/zipdir: sorted entries, fixed dates and modes), and
# the Lambda binary is built with -trimpath and -buildvcs=false, so an unchanged tree gives
# byte-identical archives and Terraform (which names/updates by their SHA-256) changes nothing.
# Only a change to the code a function is built from, go.mod/go.sum, or the Go release changes them.
set -euo pipefail

GO=${GO:-go}
DIST=${DIST:-dist}

die() {
	echo "package: $*" >&2
	exit 1
}

[[ -f go.mod && -d functions ]] || die "run from the repository root (no go.mod/functions here)"
command -v "$GO" >/dev/null 2>&1 || die "'$GO' not found; Go is needed"

# A go.work above the repository must not change what is built.
export GOWORK=off
root=$(pwd)
module=$("$GO" list -m)

# human SIZE: bytes as "1.2 MiB (1234567 bytes)".
human() {
	awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MiB (%d bytes)", b / 1048576, b; else printf "%.1f KiB (%d bytes)", b / 1024, b }'
}

report() {
	local f=$1 size sum
	size=$(wc -c <"$f" | tr -d ' ')
	sum=$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1 || true)
	echo "package: $f  $(human "$size")${sum:+  sha256 $sum}"
}

# Temporary directories, removed on exit.
tmpdirs=()
cleanup() {
	local d
	for d in ${tmpdirs[@]+"${tmpdirs[@]}"}; do
		rm -rf "$d"
	done
}
trap cleanup EXIT

# newtmp NAME: a new temporary directory (printed into the variable named by $2).
newtmp() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	tmpdirs+=("$d")
	printf -v "$2" '%s' "$d"
}

# zipdir DIR OUT: reproducible zip of DIR's contents.
zipdir() {
	"$GO" run "$root/scripts/zipdir" -o "$2" "$1"
}

# stage_gcf DIR: write the Cloud Functions source tree into DIR.
# shellcheck disable=SC2016 # the single-quoted $d are Go template variables
stage_gcf() {
	local out=$1 files rel moddir
	# The module root as go list spells directories (it may differ from $PWD through symlinks).
	moddir=$("$GO" list -m -f '{{.Dir}}')
	if [[ -e $out ]]; then
		[[ -d $out && -z $(ls -A "$out") ]] || die "$out exists and is not an empty directory"
	fi
	mkdir -p "$out"
	out=$(cd "$out" && pwd)

	# The files of every package of this module that functions/gcf imports, directly or not, as
	# built on the platform (linux/amd64). go list fails on a broken import, which is wanted.
	local tmpl='{{if and .Module .Module.Main}}{{$d := .Dir}}'
	local kind
	for kind in GoFiles CgoFiles CFiles CXXFiles HFiles SFiles SysoFiles EmbedFiles; do
		tmpl+="{{range .$kind}}{{\$d}}/{{.}}{{\"\\n\"}}{{end}}"
	done
	tmpl+='{{range .IgnoredGoFiles}}ignored: {{$d}}/{{.}}{{"\n"}}{{end}}{{end}}'
	files=$(GOOS=linux GOARCH=amd64 CGO_ENABLED=1 "$GO" list -deps -f "$tmpl" ./functions/gcf)
	[[ -n $files ]] || die "go list found no packages for ./functions/gcf"

	cp go.mod go.sum "$out/"
	local f
	while IFS= read -r f; do
		[[ -n $f ]] || continue
		if [[ $f == ignored:* ]]; then
			# Build-constrained files are not built on linux/amd64. Leaving them out also keeps
			# the buildpack's `go mod tidy` (which reads every file) from seeing imports of
			# packages that are not in the archive.
			echo "package: note: left out of the GCF archive (build constraints exclude it on linux/amd64): ${f#ignored: }" >&2
			continue
		fi
		rel=${f#"$moddir"/}
		[[ $rel != "$f" ]] || die "$f is outside the module directory $moddir"
		[[ $rel != *_test.go ]] || continue
		mkdir -p "$out/$(dirname "$rel")"
		cp "$f" "$out/$rel"
		chmod 0644 "$out/$rel"
	done <<<"$files"

	cat >"$out/gcf_entry.go" <<EOF
// Code generated by scripts/package.sh; DO NOT EDIT.

// Package gcfentry is the root package of the Cloud Functions source archive. Google's Go
// buildpack compiles only the package at the archive root; its generated main blank-imports this
// package. The functions-framework import selects the buildpack's declarative template, and
// functions/gcf registers Gateway, PubSubJob and StorageJob in its init.
package gcfentry

import (
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"

	_ "$module/functions/gcf"
)
EOF

	# What Cloud Build will compile, minus the generated main: every staged package, for the
	# platform, with go.mod and go.sum exactly as shipped.
	(cd "$out" && GOOS=linux GOARCH=amd64 GOFLAGS=-mod=readonly "$GO" build ./...) ||
		die "the staged Cloud Functions tree does not build (see above)"
}

package_gcf() {
	local stage
	newtmp gcf-source stage
	stage_gcf "$stage/src"
	mkdir -p "$DIST"
	zipdir "$stage/src" "$DIST/gcf-source.zip"
	report "$DIST/gcf-source.zip"
}

package_lambda() {
	local stage
	newtmp lambda stage
	# -tags lambda.norpc: no legacy go1.x net/rpc entry (provided.al2023 never uses it);
	# CGO_ENABLED=0: static, independent of the runtime's glibc; -trimpath, -buildvcs=false:
	# reproducible (no local paths, no commit/dirty stamp); -s -w: no symbol/DWARF tables.
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 "$GO" build -tags lambda.norpc -trimpath -buildvcs=false \
		-ldflags='-s -w' -o "$stage/bin/bootstrap" ./functions/lambda
	chmod 0755 "$stage/bin/bootstrap"
	mkdir -p "$DIST"
	zipdir "$stage/bin" "$DIST/lambda.zip"
	echo "package: bootstrap (linux/arm64)  $(human "$(wc -c <"$stage/bin/bootstrap" | tr -d ' ')")"
	report "$DIST/lambda.zip"
}

case ${1:-all} in
all)
	[[ $# -le 1 ]] || die "usage: $0 [all|gcf|lambda|stage-gcf DIR]"
	package_gcf
	package_lambda
	;;
gcf)
	package_gcf
	;;
lambda)
	package_lambda
	;;
stage-gcf)
	[[ $# -eq 2 ]] || die "usage: $0 stage-gcf DIR"
	stage_gcf "$2"
	echo "package: staged the Cloud Functions source in $2"
	;;
*)
	die "usage: $0 [all|gcf|lambda|stage-gcf DIR]"
	;;
esac
