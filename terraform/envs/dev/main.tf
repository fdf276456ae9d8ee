data "aws_ami" "debian" {
  count = var.ami_id == null ? 1 : 0

  most_recent = true
  owners      = ["136693071363"] # Debian's cloud team

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }

  filter {
    name   = "root-device-type"
    values = ["ebs"]
  }
}

locals {
  ami_id               = var.ami_id != null ? var.ami_id : data.aws_ami.debian[0].id
  query_results_prefix = "athena-results"
}

module "network" {
  source = "../../modules/network"

  name               = var.name
  cidr_block         = var.vpc_cidr
  az_count           = var.az_count
  availability_zones = var.availability_zones
  nat_gateway        = var.nat_gateway
  flow_logs          = { enabled = var.flow_logs, retention_days = 365 }
}

module "security" {
  source = "../../modules/security"

  name        = "${var.name}-cluster"
  vpc_id      = module.network.vpc_id
  admin_cidrs = var.admin_cidrs
}

module "lake" {
  source = "../../modules/lake"

  bucket_name       = var.lake_bucket
  prefix            = var.lake_prefix
  kms_key_arn       = var.kms_key_arn
  storage_lifecycle = var.lake_lifecycle
  force_destroy     = var.lake_force_destroy
  # Query results can be made again: they go after 30 days.
  expiring_prefixes = { (local.query_results_prefix) = 30 }
}

module "iam" {
  source = "../../modules/iam"

  name        = var.name
  bucket_arn  = module.lake.bucket_arn
  prefix      = module.lake.prefix
  kms_key_arn = var.kms_key_arn
}

module "catalog" {
  source = "../../modules/catalog"

  name                 = var.name
  bucket_name          = module.lake.bucket_name
  prefix               = module.lake.prefix
  topics               = var.lake_topics
  results_prefix       = local.query_results_prefix
  kms_key_arn          = var.kms_key_arn
  bytes_scanned_cutoff = var.query_bytes_scanned_cutoff
}

module "cluster" {
  source = "../../modules/cluster"

  name                  = var.name
  groups                = var.hosts
  services              = var.services
  subnets               = var.private_hosts ? module.network.private_subnets : module.network.public_subnets
  security_group_ids    = [module.security.security_group_id]
  ami_id                = local.ami_id
  ssh_public_key        = var.ssh_public_key
  associate_public_ip   = !var.private_hosts
  instance_profile_name = module.iam.instance_profile_name
  kms_key_id            = var.kms_key_arn
}
