terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Exact: scripts/fetch-terraform-provider reads this line, and .terraform.lock.hcl
      # records this version's checksums.
      version = "= 5.100.0"
    }
  }

  # State is local: the runner passes -backend-config=path=.aws-state/terraform.tfstate
  # while this block is `backend "local"`, and no path with any other backend. For a team,
  # keep it in S3 with native locking instead: replace `backend "local" {}` with the block
  # below, then copy the existing state over once (`terraform state push` of the old file),
  # since the runner's init uses -reconfigure and migrates nothing.
  #
  # backend "s3" {
  #   bucket       = "acme-terraform-state"
  #   key          = "lakefeed/dev/terraform.tfstate"
  #   region       = "us-east-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
  backend "local" {}
}
