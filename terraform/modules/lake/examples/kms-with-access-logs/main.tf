# The lake encrypted with a customer-managed key, access logs to an existing log bucket,
# no Glacier tier, and no expiry.
provider "aws" {
  region = "eu-west-1"
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the lake."
  type        = string
}

variable "log_bucket" {
  description = "Existing bucket that accepts S3 server access logs."
  type        = string
}

module "lake" {
  source = "../../"

  bucket_name = "acme-lakefeed-example-kms-lake"
  prefix      = "lake/raw"
  kms_key_arn = var.kms_key_arn
  access_logs = { bucket = var.log_bucket, prefix = "acme-lakefeed-example-kms-lake/" }
  storage_lifecycle = {
    standard_ia_days = 60
    glacier_ir_days  = 0
  }
}

output "bucket_name" {
  description = "Name of the lake bucket."
  value       = module.lake.bucket_name
}
