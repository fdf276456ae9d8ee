variable "name" {
  description = "Prefix of the workgroup and policy names, e.g. \"lakefeed-dev\": the workgroup is <name>-lake, the analysts' policy <name>-lake-analyst, the Glue database <name>_lake with hyphens as underscores."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,40}$", var.name))
    error_message = "name must be 1-41 letters, digits and hyphens, starting with a letter (it names a Glue database, an Athena workgroup and an IAM policy)."
  }
}

variable "bucket_name" {
  description = "Name of the lake bucket, e.g. \"acme-lakefeed-dev-lake\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be an S3 bucket name such as \"acme-lakefeed-dev-lake\"."
  }
}

variable "prefix" {
  description = "Key prefix the shipper writes under (the lake-key contract's <prefix>), without slashes at either end, e.g. \"raw\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.=-]*(/[A-Za-z0-9][A-Za-z0-9_.=-]*)*$", var.prefix))
    error_message = "prefix must be letters, digits, '_', '.', '=', '-' in '/'-separated segments, with no leading, trailing or double slash (e.g. \"raw\")."
  }
}

variable "compacted_prefix" {
  description = "Key prefix `lakefeed compact` writes its Parquet under, without slashes, beside the raw prefix; not a topic's name."
  type        = string
  default     = "compacted"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.=-]*(/[A-Za-z0-9][A-Za-z0-9_.=-]*)*$", var.compacted_prefix))
    error_message = "compacted_prefix must be letters, digits, '_', '.', '=', '-' in '/'-separated segments, with no leading, trailing or double slash (e.g. \"compacted\")."
  }

  validation {
    condition = alltrue([for other in [var.prefix, var.results_prefix] :
      !startswith("${var.compacted_prefix}/", "${other}/") && !startswith("${other}/", "${var.compacted_prefix}/")
    ])
    error_message = "compacted_prefix must lie outside prefix and results_prefix and contain neither: the raw lines' tables would read the Parquet, or the Parquet's table the query results."
  }
}

variable "topics" {
  description = "The archived topics (archiver_topics), e.g. [\"x.posts\"]: each gets a table of its raw lines (<table>_lines) and a deduplicated view (<table>), <table> being the topic in lowercase with every character other than a letter, digit or underscore as \"_\" (x.posts -> x_posts)."
  type        = list(string)

  validation {
    condition     = length(var.topics) > 0 && alltrue([for t in var.topics : can(regex("^[A-Za-z0-9._-]{1,249}$", t))])
    error_message = "topics must name at least one Kafka topic, each 1-249 characters of letters, digits, '.', '_' and '-'."
  }

  validation {
    condition     = length(distinct([for t in var.topics : lower(replace(t, "/[^A-Za-z0-9_]/", "_"))])) == length(var.topics)
    error_message = "Two topics map to one table name (lowercase, other characters than letters, digits and '_' as '_', e.g. \"x.posts\" and \"X_posts\"): rename one of them or archive them under one name."
  }
}

variable "years" {
  description = "The years partition projection enumerates: a query without a filter on year reads every hour of them, so keep the range to the lake's life. Widen `last` before it passes."
  type = object({
    first = number
    last  = number
  })
  default = { first = 2026, last = 2035 }

  validation {
    condition     = var.years.first >= 2000 && var.years.last >= var.years.first && var.years.last <= 2999
    error_message = "years must be {first, last} with 2000 <= first <= last <= 2999."
  }
}

variable "results_prefix" {
  description = "Key prefix of the Athena query results in the lake bucket, outside the lake's prefix (the hosts cannot read it, analysts cannot write the lake)."
  type        = string
  default     = "athena-results"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.=-]*(/[A-Za-z0-9][A-Za-z0-9_.=-]*)*$", var.results_prefix))
    error_message = "results_prefix must be letters, digits, '_', '.', '=', '-' in '/'-separated segments, with no leading, trailing or double slash (e.g. \"athena-results\")."
  }

  validation {
    condition     = !startswith("${var.results_prefix}/", "${var.prefix}/") && !startswith("${var.prefix}/", "${var.results_prefix}/")
    error_message = "results_prefix must lie outside prefix and not contain it: query results in the lake would be read as lake objects, and the lake's readers could write it."
  }
}

variable "bytes_scanned_cutoff" {
  description = "Athena cancels a query of the workgroup once it has scanned this many bytes (it bills by bytes scanned; 10 GiB of gzip JSON lines is about $0.05). At least 10485760 (10 MiB)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff >= 10485760
    error_message = "bytes_scanned_cutoff must be at least 10485760 (10 MiB), Athena's minimum."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the lake bucket (SSE-KMS): query results are encrypted with it too, and the analysts' policy may decrypt with it. null: SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN such as \"arn:aws:kms:us-east-1:111122223333:key/...\"."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
