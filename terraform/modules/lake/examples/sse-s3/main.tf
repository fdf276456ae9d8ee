# The lake with the defaults: SSE-S3, STANDARD_IA after 30 days, GLACIER_IR after 90,
# objects kept for two years.
provider "aws" {
  region = "us-east-1"
}

module "lake" {
  source = "../../"

  bucket_name       = "acme-lakefeed-example-lake"
  prefix            = "raw"
  storage_lifecycle = { expiration_days = 730 }
}

output "prefix_arn" {
  description = "What the lake's writers need access to."
  value       = module.lake.prefix_arn
}
