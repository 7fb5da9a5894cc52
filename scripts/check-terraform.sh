#!/usr/bin/env bash
# check-terraform.sh checks the Terraform under terraform/: `terraform fmt -check` over the whole
# tree (test files included), tflint in every directory that holds .tf files (the gcp and aws
# modules and the examples), each with terraform/.tflint.hcl, and `terraform test` in each
# directory under terraform/tests (the modules' variable validation rules, offline: those
# directories link the modules' variables.tf and need no provider). It exits non-zero on any
# finding.
#
# Run it from the repository root after scripts/install-tools.sh; it uses bin/terraform and
# bin/tflint. tflint uses only its bundled terraform ruleset, so it needs no `tflint --init`
# and no network.
#
# `terraform validate` is NOT run by default: it needs `terraform init` to download the google
# and aws provider plugins, and this project's machines and CI reach no provider registry (nor
# can the providers be built from the Go module proxy; see terraform/tests/README.md). On a
# machine that can, CHECK_TERRAFORM_VALIDATE=1 adds `init -backend=false` + `validate` for each
# example (which also validates the modules they call).
set -euo pipefail

root=$(pwd)
terraform="$root/bin/terraform"
tflint="$root/bin/tflint"
config="$root/terraform/.tflint.hcl"

for tool in "$terraform" "$tflint"; do
	if [[ ! -x $tool ]]; then
		echo "check-terraform: $tool not found; run scripts/install-tools.sh first" >&2
		exit 2
	fi
done

# No update checks against HashiCorp's servers, and no warning about a CLI config file that an
# environment variable names but that does not exist.
export CHECKPOINT_DISABLE=1
if [[ -n ${TF_CLI_CONFIG_FILE:-} && ! -e $TF_CLI_CONFIG_FILE ]]; then
	unset TF_CLI_CONFIG_FILE
fi

status=0

echo "check-terraform: terraform fmt -check -recursive terraform"
if ! "$terraform" fmt -check -recursive -diff terraform; then
	echo "check-terraform: FAIL terraform fmt (run: bin/terraform fmt -recursive terraform)" >&2
	status=1
fi

# Every directory with .tf files, outside .terraform caches and the test harnesses (which hold
# only a link to a module's variables.tf, linted with the module).
mapfile -t dirs < <(find terraform -name '*.tf' -not -path '*/.terraform/*' -not -path 'terraform/tests/*' -printf '%h\n' | sort -u)
if [[ ${#dirs[@]} -eq 0 ]]; then
	echo "check-terraform: no .tf files under terraform/" >&2
	exit 2
fi

for dir in "${dirs[@]}"; do
	echo "check-terraform: tflint $dir"
	if ! "$tflint" --chdir "$dir" --config "$config" --format compact --minimum-failure-severity=notice; then
		echo "check-terraform: FAIL tflint $dir" >&2
		status=1
	fi
done

# terraform test: no provider, no network. Init and test state go to a throwaway data directory.
mapfile -t tests < <(find terraform/tests -name '*.tftest.hcl' -printf '%h\n' | sort -u)
for dir in "${tests[@]}"; do
	echo "check-terraform: terraform test $dir"
	data=$(mktemp -d)
	if ! TF_DATA_DIR=$data "$terraform" -chdir="$dir" init -backend=false -input=false >/dev/null ||
		! TF_DATA_DIR=$data "$terraform" -chdir="$dir" test -no-color; then
		echo "check-terraform: FAIL terraform test $dir" >&2
		status=1
	fi
	rm -rf "$data"
done

if [[ ${CHECK_TERRAFORM_VALIDATE:-0} == 1 ]]; then
	for dir in "${dirs[@]}"; do
		[[ $dir == terraform/examples/* ]] || continue
		echo "check-terraform: terraform validate $dir"
		if ! "$terraform" -chdir="$dir" init -backend=false -input=false >/dev/null ||
			! "$terraform" -chdir="$dir" validate; then
			echo "check-terraform: FAIL terraform validate $dir" >&2
			status=1
		fi
	done
fi

if [[ $status -eq 0 ]]; then
	echo "check-terraform: ok (${#dirs[@]} directories linted, ${#tests[@]} tested)"
fi
exit $status
