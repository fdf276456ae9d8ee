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

  # State is local (terraform.tfstate here, gitignored) unless the runner passes
  # -backend-config=path=... . For a team, keep it in S3 with native locking instead:
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
