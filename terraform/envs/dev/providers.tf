provider "aws" {
  region = var.region

  # With endpoint_url every service the environment uses goes to one AWS-compatible
  # endpoint (the tests' local moto server): no real account, no instance metadata. The
  # account id is still asked for (STS, at the endpoint): the provider builds ARNs with
  # it (the Athena workgroup's, which the analysts' policy names).
  skip_credentials_validation = var.endpoint_url != null
  skip_metadata_api_check     = var.endpoint_url != null
  s3_use_path_style           = var.endpoint_url != null

  dynamic "endpoints" {
    for_each = var.endpoint_url == null ? [] : [var.endpoint_url]
    content {
      athena = endpoints.value
      ec2    = endpoints.value
      glue   = endpoints.value
      iam    = endpoints.value
      logs   = endpoints.value
      s3     = endpoints.value
      sts    = endpoints.value
    }
  }

  default_tags {
    tags = merge(var.tags, {
      "lakefeed:cluster"    = var.name
      "lakefeed:managed-by" = "terraform/envs/dev"
    })
  }
}
