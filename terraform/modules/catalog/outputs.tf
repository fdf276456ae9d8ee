output "database" {
  description = "Glue database of the lake's tables and views (Athena's schema)."
  value       = aws_glue_catalog_database.this.name
}

output "tables" {
  description = "Per archived topic: the deduplicated view (view), the table of raw lines (lines) and the compacted Parquet (compacted)."
  value = {
    for table, topic in local.tables : topic => {
      view      = aws_glue_catalog_table.view[table].name
      lines     = aws_glue_catalog_table.lines[table].name
      compacted = aws_glue_catalog_table.compacted[table].name
    }
  }
}

output "workgroup" {
  description = "Athena workgroup to query the lake in (results encrypted, bytes scanned capped)."
  value       = aws_athena_workgroup.this.name
}

output "results_location" {
  description = "Where the workgroup's query results go."
  value       = "s3://${var.bucket_name}/${var.results_prefix}/"
}

output "analyst_policy_arn" {
  description = "IAM policy to attach to the people or roles that query the lake: read only, through the workgroup."
  value       = aws_iam_policy.analyst.arn
}
