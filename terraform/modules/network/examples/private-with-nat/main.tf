# Hosts in private subnets: one NAT gateway per zone for package and API egress, flow
# logs kept for a year, named zones.
provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to build the network in."
  type        = string
  default     = "eu-west-1"
}

module "network" {
  source = "../../"

  name               = "lakefeed-example"
  cidr_block         = "10.60.0.0/16"
  availability_zones = ["${var.region}a", "${var.region}b", "${var.region}c"]
  nat_gateway        = "one_per_az"
  flow_logs          = { enabled = true, retention_days = 365 }
}

output "private_subnets" {
  description = "Private subnets by zone."
  value       = module.network.private_subnets
}
