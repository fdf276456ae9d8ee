variable "bucket_name" {
  description = "Name of the lake's S3 bucket; globally unique, e.g. \"acme-lakefeed-dev-lake\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(var.bucket_name, "--")
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits and single hyphens, starting and ending with a letter or digit (no dots: they break TLS for virtual-hosted-style requests)."
  }

  validation {
    condition     = !startswith(var.bucket_name, "xn--") && !startswith(var.bucket_name, "sthree-") && !startswith(var.bucket_name, "amzn-s3-demo-") && !endswith(var.bucket_name, "-s3alias") && !endswith(var.bucket_name, "--ol-s3") && !endswith(var.bucket_name, "--x-s3") && !endswith(var.bucket_name, "--table-s3")
    error_message = "bucket_name must not start with \"xn--\", \"sthree-\" or \"amzn-s3-demo-\", nor end with \"-s3alias\", \"--ol-s3\", \"--x-s3\" or \"--table-s3\" (names S3 reserves)."
  }
}

variable "prefix" {
  description = "Key prefix the shipper writes under (the lake-key contract's <prefix>), without slashes at either end, e.g. \"raw\"."
  type        = string
  default     = "raw"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.=-]*(/[A-Za-z0-9][A-Za-z0-9_.=-]*)*$", var.prefix)) && length(var.prefix) <= 200
    error_message = "prefix must be 1-200 characters of letters, digits, '_', '.', '=', '-' in '/'-separated segments, with no leading, trailing or double slash (e.g. \"raw\" or \"lake/raw\")."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key for default encryption (SSE-KMS with a bucket key). null: SSE-S3 (AES256), no key to manage."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN such as \"arn:aws:kms:us-east-1:111122223333:key/...\" (not an alias: the hosts' IAM policy names the key)."
  }
}

variable "storage_lifecycle" {
  description = <<-EOT
    When the lake's objects (under prefix) change storage class and expire, in days after
    creation; 0 turns a step off. standard_ia_days: 0 or >= 30; glacier_ir_days at least
    30 after standard_ia_days; expiration_days after every transition (0: keep forever).
    Noncurrent versions (overwritten or deleted objects) are removed
    noncurrent_expiration_days after they stop being current; incomplete multipart
    uploads (anywhere in the bucket) are aborted abort_incomplete_multipart_days after they start.
  EOT
  type = object({
    standard_ia_days                = optional(number, 30)
    glacier_ir_days                 = optional(number, 90)
    expiration_days                 = optional(number, 0)
    noncurrent_expiration_days      = optional(number, 30)
    abort_incomplete_multipart_days = optional(number, 7)
  })
  default = {}

  validation {
    condition = alltrue([
      for d in values(var.storage_lifecycle) : d >= 0 && floor(d) == d
    ]) && var.storage_lifecycle.noncurrent_expiration_days >= 1 && var.storage_lifecycle.abort_incomplete_multipart_days >= 1
    error_message = "storage_lifecycle days must be whole numbers >= 0, and noncurrent_expiration_days and abort_incomplete_multipart_days >= 1."
  }

  validation {
    condition     = var.storage_lifecycle.standard_ia_days == 0 || var.storage_lifecycle.standard_ia_days >= 30
    error_message = "storage_lifecycle.standard_ia_days must be 0 (off) or 30 and more (S3 keeps objects in STANDARD at least 30 days before STANDARD_IA)."
  }

  validation {
    condition     = var.storage_lifecycle.standard_ia_days == 0 || var.storage_lifecycle.glacier_ir_days == 0 || var.storage_lifecycle.glacier_ir_days >= var.storage_lifecycle.standard_ia_days + 30
    error_message = "storage_lifecycle.glacier_ir_days must be 0 (off) or at least 30 days after standard_ia_days (objects stay 30 days in STANDARD_IA)."
  }

  validation {
    condition     = var.storage_lifecycle.expiration_days == 0 || var.storage_lifecycle.expiration_days > max(var.storage_lifecycle.standard_ia_days, var.storage_lifecycle.glacier_ir_days)
    error_message = "storage_lifecycle.expiration_days must be 0 (keep forever) or later than standard_ia_days and glacier_ir_days."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with every object and version in it. Keep false for a lake that matters: destroy then stops at a non-empty bucket."
  type        = bool
  default     = false
}

variable "access_logs" {
  description = "Server access logging: the target bucket (which must accept S3 log delivery) and a key prefix. null: no access logs."
  type = object({
    bucket = string
    prefix = optional(string, "s3-access/")
  })
  default = null
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "expiring_prefixes" {
  description = "Other prefixes of the bucket whose objects expire after the given number of days, e.g. {\"athena-results\" = 30} for query results, which can be made again. Each lies outside prefix: the lake's own objects follow storage_lifecycle only."
  type        = map(number)
  default     = {}

  validation {
    condition = alltrue([
      for p, days in var.expiring_prefixes : can(regex("^[A-Za-z0-9][A-Za-z0-9_.=-]*(/[A-Za-z0-9][A-Za-z0-9_.=-]*)*$", p)) && days >= 1 && floor(days) == days
    ])
    error_message = "expiring_prefixes must map prefixes ('/'-separated segments of letters, digits, '_', '.', '=', '-', no slash at either end) to whole days of at least 1."
  }

  validation {
    condition = alltrue([
      for p, _ in var.expiring_prefixes : !startswith("${p}/", "${var.prefix}/") && !startswith("${var.prefix}/", "${p}/")
    ])
    error_message = "expiring_prefixes must lie outside prefix and not contain it: an expiry there would delete lake objects."
  }
}
