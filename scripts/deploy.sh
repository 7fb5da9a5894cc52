#!/usr/bin/env bash
# deploy.sh runs Terraform in one of the examples (terraform/examples/gcp or .../aws), the way
# `make deploy-gcp`, `make deploy-aws`, `make destroy-gcp` and `make destroy-aws` do:
#
#   scripts/deploy.sh gcp|aws apply   [TERRAFORM ARGS...]   package, init, apply (asks before changing anything)
#   scripts/deploy.sh gcp|aws plan    [TERRAFORM ARGS...]   package, init, plan
#   scripts/deploy.sh gcp|aws destroy [TERRAFORM ARGS...]   destroy everything the example created
#   scripts/deploy.sh gcp|aws output  [NAME]                a Terraform output (raw), e.g. url
#
# Extra arguments go to terraform (e.g. -auto-approve). Run from the repository root. apply and
# plan first build the cloud's artifact with scripts/package.sh (dist/gcf-source.zip or
# dist/lambda.zip; reproducible, so an unchanged tree changes nothing in the cloud); destroy
# builds it only if it is missing, since Terraform reads its hash even then. The example's settings come from terraform/examples/CLOUD/terraform.tfvars, a
# copy of terraform.tfvars.example that you fill in. Terraform is $TERRAFORM if set, else
# bin/terraform (installed by scripts/install-tools.sh) when present, else terraform on PATH.
#
# Credentials are Terraform's usual ones: for gcp, Application Default Credentials
# (gcloud auth application-default login) of a user who may create the resources; for aws, the
# AWS provider's (AWS_PROFILE, environment, SSO) plus Google ADC for the Google side.
set -euo pipefail

die() {
	echo "deploy: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 gcp|aws apply|plan|destroy [terraform args...]" >&2
	echo "       $0 gcp|aws output [NAME]" >&2
	exit 2
}

[[ $# -ge 2 ]] || usage
cloud=$1 action=$2
shift 2
case $cloud in
gcp) artifact=dist/gcf-source.zip part=gcf ;;
aws) artifact=dist/lambda.zip part=lambda ;;
*) usage ;;
esac
case $action in apply | plan | destroy | output) ;; *) usage ;; esac

[[ -f go.mod && -d terraform/examples ]] || die "run from the repository root"
dir=terraform/examples/$cloud

if [[ -n ${TERRAFORM:-} ]]; then
	terraform=$TERRAFORM
elif [[ -x bin/terraform ]]; then
	terraform=$PWD/bin/terraform
elif command -v terraform >/dev/null 2>&1; then
	terraform=$(command -v terraform)
else
	die "terraform not found: run 'make tools' (installs bin/terraform) or install Terraform >= 1.5"
fi
tf() { "$terraform" -chdir="$dir" "$@"; }

if [[ $action == output ]]; then
	[[ $# -le 1 ]] || usage
	if [[ $# -eq 1 ]]; then
		tf output -raw "$1"
	else
		tf output
	fi
	exit
fi

if [[ ! -f $dir/terraform.tfvars ]]; then
	die "$dir/terraform.tfvars is missing. Create it from the example and fill it in:
    cp $dir/terraform.tfvars.example $dir/terraform.tfvars
    \$EDITOR $dir/terraform.tfvars"
fi
if [[ $action != destroy ]]; then
	bash scripts/package.sh "$part"
elif [[ ! -f $artifact ]]; then
	echo "deploy: $artifact is missing (Terraform reads its hash); building it" >&2
	bash scripts/package.sh "$part"
fi

# Nothing in the examples asks HashiCorp for update checks.
export CHECKPOINT_DISABLE=1

echo "deploy: $terraform -chdir=$dir init"
tf init -input=false
echo "deploy: $terraform -chdir=$dir $action -var-file=terraform.tfvars $*"
tf "$action" -var-file=terraform.tfvars "$@"

if [[ $action == apply ]]; then
	url=$(tf output -raw url 2>/dev/null || true)
	secret=$(tf output -raw keys_secret_version_name 2>/dev/null || true)
	[[ -n $secret ]] || secret="projects/PROJECT/secrets/$(tf output -raw keys_secret_id 2>/dev/null || echo SECRET)"
	cat <<EOF

deploy: done. The gateway: ${url:-"(see terraform output)"}
Next:
  make key NAME=my-app SECRET=$secret      # prints a new client key once
  make smoke URL=$url KEY=<the key>
OpenAI SDKs: base_url = "${url%/}/v1"
EOF
fi
