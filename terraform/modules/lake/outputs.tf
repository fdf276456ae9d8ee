output "bucket_name" {
  description = "Name of the lake bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the lake bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_region" {
  description = "Region the bucket lives in."
  value       = aws_s3_bucket.this.region
}

output "prefix" {
  description = "Key prefix the lake's objects live under (no trailing slash)."
  value       = var.prefix
}

output "prefix_arn" {
  description = "ARN matching every object under the prefix: what writers need access to."
  value       = "${aws_s3_bucket.this.arn}/${var.prefix}/*"
}

output "kms_key_arn" {
  description = "KMS key of the default encryption, or null for SSE-S3."
  value       = var.kms_key_arn
}
