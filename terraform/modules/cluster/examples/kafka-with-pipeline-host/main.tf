# Three Kafka hosts in three zones and a separate pipeline host running the collector,
# archiver and shipper, whose spool gets its own volume. Network, security group and
# instance profile come from the sibling modules.
provider "aws" {
  region = "us-east-1"
}

variable "ssh_public_key" {
  description = "OpenSSH public key for the hosts' admin user."
  type        = string
}

variable "ami_id" {
  description = "Debian 12 amd64 AMI of the region."
  type        = string
}

module "network" {
  source = "../../../network"

  name = "lakefeed-example"
}

module "security" {
  source = "../../../security"

  name        = "lakefeed-example-cluster"
  vpc_id      = module.network.vpc_id
  admin_cidrs = ["203.0.113.0/28"]
}

module "iam" {
  source = "../../../iam"

  name       = "lakefeed-example"
  bucket_arn = "arn:aws:s3:::acme-lakefeed-example-lake"
  prefix     = "raw"
}

module "cluster" {
  source = "../../"

  name = "lakefeed-example"
  groups = {
    kafka    = { count = 3, instance_type = "t3.large", data_volume_gb = 100 }
    pipeline = { count = 1, instance_type = "t3.medium", data_volume_gb = 50 }
  }
  services = {
    collector = ["pipeline-1"]
    archiver  = ["pipeline-1"]
    shipper   = ["pipeline-1"]
  }
  subnets               = module.network.public_subnets
  security_group_ids    = [module.security.security_group_id]
  instance_profile_name = module.iam.instance_profile_name
  ami_id                = var.ami_id
  ssh_public_key        = var.ssh_public_key
}

output "hosts" {
  description = "The hosts, for an inventory."
  value       = module.cluster.hosts
}
