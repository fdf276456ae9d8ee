# The cluster's security group in an existing VPC: SSH from one office range.
provider "aws" {
  region = "us-east-1"
}

variable "vpc_id" {
  description = "Existing VPC to create the group in."
  type        = string
}

module "security" {
  source = "../../"

  name        = "lakefeed-example-cluster"
  vpc_id      = var.vpc_id
  admin_cidrs = ["203.0.113.0/28"]
}

output "security_group_id" {
  description = "Attach to every cluster host."
  value       = module.security.security_group_id
}
