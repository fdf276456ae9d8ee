# Three zones, public and private subnets, no NAT gateway: the dev environment's network.
provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to build the network in."
  type        = string
  default     = "us-east-1"
}

module "network" {
  source = "../../"

  name       = "lakefeed-example"
  cidr_block = "10.42.0.0/16"
  az_count   = 3

  tags = { "lakefeed:example" = "network/three-zones" }
}

output "public_subnets" {
  description = "Public subnets by zone."
  value       = module.network.public_subnets
}
