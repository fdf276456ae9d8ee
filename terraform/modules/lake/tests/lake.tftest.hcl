mock_provider "aws" {
  mock_resource "aws_s3_bucket" {
    # Known at plan time, so assertions can read the policy that embeds it.
    override_during = plan
    defaults = {
      arn = "arn:aws:s3:::lf-test-lake"
    }
  }
}

variables {
  bucket_name = "lf-test-lake"
}

run "private_encrypted_versioned_by_default" {
  command = plan

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "All four public access block settings must be on."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Without a KMS key the default encryption must be SSE-S3 (AES256)."
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "Versioning must be enabled."
  }
  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }
  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "A lake must not be force-destroyed unless asked for."
  }
  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "Access logging is opt-in."
  }
}

run "lifecycle_defaults" {
  command = plan

  assert {
    condition = toset([
      for t in aws_s3_bucket_lifecycle_configuration.this.rule[0].transition : "${t.storage_class}@${t.days}"
    ]) == toset(["STANDARD_IA@30", "GLACIER_IR@90"])
    error_message = "Objects must move to STANDARD_IA after 30 days and GLACIER_IR after 90 by default."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].filter).prefix == "raw/"
    error_message = "Transitions apply to the lake prefix."
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration) == 0
    error_message = "By default nothing expires."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration).noncurrent_days == 30
    error_message = "Noncurrent versions must expire after 30 days by default."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[1].abort_incomplete_multipart_upload).days_after_initiation == 7 && aws_s3_bucket_lifecycle_configuration.this.rule[1].id == "abort-incomplete-multipart-uploads"
    error_message = "Incomplete multipart uploads must be aborted after 7 days, bucket-wide."
  }
}

run "lifecycle_custom_with_expiry_and_kms" {
  command = plan

  variables {
    prefix      = "lake/raw"
    kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/0f2c3b1a-1111-2222-3333-444455556666"
    storage_lifecycle = {
      standard_ia_days           = 45
      glacier_ir_days            = 0
      expiration_days            = 400
      noncurrent_expiration_days = 7
    }
    tags = { team = "data" }
  }

  assert {
    condition = toset([
      for t in aws_s3_bucket_lifecycle_configuration.this.rule[0].transition : "${t.storage_class}@${t.days}"
    ]) == toset(["STANDARD_IA@45"])
    error_message = "A step set to 0 must be left out."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration).days == 400
    error_message = "expiration_days must expire objects."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].filter).prefix == "lake/raw/"
    error_message = "The lifecycle filter must follow the prefix."
  }
  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "With a KMS key the default encryption must be SSE-KMS with a bucket key."
  }
  assert {
    condition     = aws_s3_bucket.this.tags["team"] == "data" && aws_s3_bucket.this.tags["Name"] == "lf-test-lake"
    error_message = "var.tags must be merged into the bucket's tags."
  }
}

run "expiring_prefixes_expire_only_there" {
  command = plan

  variables {
    expiring_prefixes = { "athena-results" = 30 }
  }

  assert {
    condition = one([
      for r in aws_s3_bucket_lifecycle_configuration.this.rule : r if r.id == "expire-athena-results"
    ]).filter[0].prefix == "athena-results/"
    error_message = "An expiring prefix gets a rule of its own, filtered to it."
  }
  assert {
    condition = one([
      for r in aws_s3_bucket_lifecycle_configuration.this.rule : r if r.id == "expire-athena-results"
    ]).expiration[0].days == 30
    error_message = "Its objects expire after the given days."
  }
}

run "rejects_an_expiring_prefix_over_the_lake" {
  command = plan

  variables {
    expiring_prefixes = { "raw/tmp" = 1 }
  }

  expect_failures = [var.expiring_prefixes]
}

run "policy_denies_plain_http" {
  command = plan

  assert {
    condition = anytrue([
      for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement :
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*" && s.Condition.Bool["aws:SecureTransport"] == "false"
      if can(s.Condition.Bool)
    ])
    error_message = "The bucket policy must deny every request that is not over TLS."
  }
  assert {
    condition     = toset(jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Resource) == toset(["arn:aws:s3:::lf-test-lake", "arn:aws:s3:::lf-test-lake/*"])
    error_message = "The TLS rule must cover the bucket and every object."
  }
  assert {
    condition     = length([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s if s.Effect == "Allow"]) == 0
    error_message = "The bucket policy grants nothing; access comes from IAM."
  }
}

run "rejects_uppercase_bucket_name" {
  command = plan

  variables {
    bucket_name = "LakeFeed-Lake"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_dotted_bucket_name" {
  command = plan

  variables {
    bucket_name = "lake.example.com"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_reserved_bucket_suffix" {
  command = plan

  variables {
    bucket_name = "my-lake-s3alias"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_prefix_with_slashes_at_the_ends" {
  command = plan

  variables {
    prefix = "/raw/"
  }

  expect_failures = [var.prefix]
}

run "rejects_standard_ia_before_30_days" {
  command = plan

  variables {
    storage_lifecycle = { standard_ia_days = 7 }
  }

  expect_failures = [var.storage_lifecycle]
}

run "rejects_glacier_too_soon_after_standard_ia" {
  command = plan

  variables {
    storage_lifecycle = { standard_ia_days = 60, glacier_ir_days = 75 }
  }

  expect_failures = [var.storage_lifecycle]
}

run "rejects_expiry_before_transition" {
  command = plan

  variables {
    storage_lifecycle = { standard_ia_days = 30, glacier_ir_days = 90, expiration_days = 60 }
  }

  expect_failures = [var.storage_lifecycle]
}

run "rejects_fractional_days" {
  command = plan

  variables {
    storage_lifecycle = { noncurrent_expiration_days = 1.5 }
  }

  expect_failures = [var.storage_lifecycle]
}

run "rejects_bad_kms_arn" {
  command = plan

  variables {
    kms_key_arn = "alias/lake"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_negative_days" {
  command = plan

  variables {
    storage_lifecycle = { expiration_days = -1 }
  }

  expect_failures = [var.storage_lifecycle]
}
