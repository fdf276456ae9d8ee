mock_provider "aws" {}

variables {
  name       = "lf-test"
  bucket_arn = "arn:aws:s3:::lf-test-lake"
  prefix     = "raw"
}

run "policy_reaches_only_the_prefix" {
  command = plan

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Action
    ])) == toset(["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListBucket"])
    error_message = "The hosts may put, get, abort multipart uploads and list: nothing else."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Effect == "Allow" && !can(s.NotAction) && !can(s.NotResource)])
    error_message = "Only plain Allow statements: no NotAction/NotResource."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource
    ])) == toset(["arn:aws:s3:::lf-test-lake/raw/*", "arn:aws:s3:::lf-test-lake"])
    error_message = "Objects under raw/ and the bucket itself (for listing) are the only resources."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Action == "s3:ListBucket"
    ]).Condition.StringLike["s3:prefix"] == ["raw/", "raw/*"]
    error_message = "Listing must be limited to the prefix."
  }
  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal.Service == "ec2.amazonaws.com"
    error_message = "Only EC2 instances may assume the role."
  }
  assert {
    condition     = aws_iam_instance_profile.this.name == "lf-test-lake-writer" && aws_iam_role.this.name == "lf-test-lake-writer"
    error_message = "Role and profile are named <name>-lake-writer."
  }
}

run "kms_key_adds_only_that_key" {
  command = plan

  variables {
    prefix      = "lake/raw"
    kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/0f2c3b1a-1111-2222-3333-444455556666"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "LakeEncryptionKey"
    ]).Resource == "arn:aws:kms:eu-west-1:111122223333:key/0f2c3b1a-1111-2222-3333-444455556666"
    error_message = "KMS permissions must name the lake's key only."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "LakeEncryptionKey"
    ]).Condition.StringEquals["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"
    error_message = "The key may be used only through S3."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "LakeObjects"]).Resource == "arn:aws:s3:::lf-test-lake/lake/raw/*"
    error_message = "A nested prefix must be used as given."
  }
}

run "rejects_prefix_with_wildcard" {
  command = plan

  variables {
    prefix = "raw/*"
  }

  expect_failures = [var.prefix]
}

run "rejects_empty_prefix" {
  command = plan

  variables {
    prefix = ""
  }

  expect_failures = [var.prefix]
}

run "rejects_object_arn_as_bucket" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::lf-test-lake/raw"
  }

  expect_failures = [var.bucket_arn]
}

run "rejects_kms_alias" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:111122223333:alias/lake"
  }

  expect_failures = [var.kms_key_arn]
}
