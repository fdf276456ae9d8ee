variable "name" {
  description = "Prefix of the role and instance profile names, e.g. \"lakefeed-dev\": they become <name>-lake-writer."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9+=,.@_-]{0,51}$", var.name))
    error_message = "name must be 1-52 characters of letters, digits and +=,.@_- starting with a letter (IAM role names are at most 64 with the suffix)."
  }
}

variable "bucket_arn" {
  description = "ARN of the lake bucket, e.g. \"arn:aws:s3:::acme-lakefeed-dev-lake\"."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN such as \"arn:aws:s3:::acme-lakefeed-dev-lake\" (no key part)."
  }
}

variable "prefix" {
  description = "Key prefix the hosts may write and read under, without slashes at either end, e.g. \"raw\". Nothing outside it is reachable."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.=-]*(/[A-Za-z0-9][A-Za-z0-9_.=-]*)*$", var.prefix))
    error_message = "prefix must be letters, digits, '_', '.', '=', '-' in '/'-separated segments, with no leading, trailing or double slash (e.g. \"raw\")."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the bucket's SSE-KMS encryption: the hosts then also get kms:GenerateDataKey and kms:Decrypt on that key only. null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN such as \"arn:aws:kms:us-east-1:111122223333:key/...\" (not an alias: IAM matches keys by ARN)."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary to attach to the role, where the account requires one. null: none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be null or an IAM policy ARN such as \"arn:aws:iam::111122223333:policy/boundary\"."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
