# TFLint configuration shared by every module and example under terraform/.
#
# Only the terraform ruleset bundled inside the tflint binary is used: the plugin block has no
# `source` or `version`, so `tflint --init` has nothing to download and tflint runs offline.
# scripts/check-terraform.sh passes this file with --config to each directory it lints.

config {
  # Evaluate calls to local modules (../../gcp, ../../aws) so their inputs are checked too.
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

# Beyond "recommended": every variable and output carries a description, every variable a
# type, and each module keeps the standard main/variables/outputs/versions layout.
rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_typed_variables" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}
