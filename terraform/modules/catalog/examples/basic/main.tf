# The catalog of a lake whose archiver writes topic x.posts under s3://acme-lakefeed-example-lake/raw/.
provider "aws" {
  region = "us-east-1"
}

module "catalog" {
  source = "../../"

  name        = "lakefeed-example"
  bucket_name = "acme-lakefeed-example-lake"
  prefix      = "raw"
  topics      = ["x.posts"]
}

output "workgroup" {
  description = "Query in this Athena workgroup."
  value       = module.catalog.workgroup
}

output "analyst_policy_arn" {
  description = "Attach it to the analysts' role."
  value       = module.catalog.analyst_policy_arn
}
