# The instance profile of hosts that ship to s3://acme-lakefeed-example-lake/raw/.
provider "aws" {
  region = "us-east-1"
}

module "iam" {
  source = "../../"

  name       = "lakefeed-example"
  bucket_arn = "arn:aws:s3:::acme-lakefeed-example-lake"
  prefix     = "raw"
}

output "instance_profile_name" {
  description = "Give it to the shipper's hosts."
  value       = module.iam.instance_profile_name
}
