locals {
  role_name = "${var.name}-lake-writer"

  # What the shipper does, nothing more: conditional puts and multipart uploads (both
  # s3:PutObject), HEAD to verify (s3:GetObject), aborting its own failed uploads, and
  # listing within the prefix (without it S3 answers 403 instead of 404 for a missing key).
  statements = concat(
    [
      {
        Sid      = "LakeObjects"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
        Resource = "${var.bucket_arn}/${var.prefix}/*"
      },
      {
        Sid      = "ListLakePrefix"
        Effect   = "Allow"
        Action   = "s3:ListBucket"
        Resource = var.bucket_arn
        Condition = {
          StringLike = { "s3:prefix" = ["${var.prefix}/", "${var.prefix}/*"] }
        }
      },
    ],
    var.kms_key_arn == null ? [] : [
      {
        Sid      = "LakeEncryptionKey"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${split(":", var.kms_key_arn)[3]}.amazonaws.com" }
        }
      },
    ],
  )
  policy = jsonencode({ Version = "2012-10-17", Statement = local.statements })
}

resource "aws_iam_role" "this" {
  name                 = local.role_name
  description          = "lakefeed hosts: write the lake under ${var.prefix}/ and nothing else"
  permissions_boundary = var.permissions_boundary_arn
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EC2Instances"
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(var.tags, { Name = local.role_name })
}

resource "aws_iam_role_policy" "this" {
  name   = "lake-prefix"
  role   = aws_iam_role.this.id
  policy = local.policy
}

resource "aws_iam_instance_profile" "this" {
  name = local.role_name
  role = aws_iam_role.this.name

  tags = merge(var.tags, { Name = local.role_name })
}
