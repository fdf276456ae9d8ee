locals {
  database = "${replace(lower(var.name), "-", "_")}_lake"
  # Table name => topic: Glue and Athena take lowercase letters, digits and underscores.
  tables = { for t in var.topics : lower(replace(t, "/[^A-Za-z0-9_]/", "_")) => t }
  lake   = "s3://${var.bucket_name}/${var.prefix}"
  # lakefeed compact's Parquet, beside the raw lake (src/lakefeed/compact.py).
  compacted = "s3://${var.bucket_name}/${var.compacted_prefix}"

  # The deduplicated view of one topic (ADR 15), in one file that `lakefeed query` runs
  # too (src/lakefeed/query.py). Every line carries its coordinates (ADR 14); of the
  # copies of one (partition, offset) it keeps the one in the first object by key. Lines
  # archived before ADR 14 have none and pass as they are.
  view_sql = {
    for table, topic in local.tables : table => trimspace(templatefile("${path.module}/view.sql.tftpl", {
      database = local.database
      table    = table
    }))
  }

  # The view's columns: Trino types in the view definition, Hive types in Glue's schema.
  view_columns = [
    { name = "id", trino = "varchar", hive = "string", comment = "The source's id of the record (the Kafka key)." },
    { name = "source", trino = "varchar", hive = "string", comment = "<source type>:<collector name>, e.g. x_stream:nba." },
    { name = "collected_at", trino = "varchar", hive = "string", comment = "When the collector read it: UTC, ISO 8601 with milliseconds (from_iso8601_timestamp reads it)." },
    { name = "payload", trino = "varchar", hive = "string", comment = "The source's record as JSON text (json_extract_scalar(payload, '$.data.text'))." },
    { name = "kafka_topic", trino = "varchar", hive = "string", comment = "Topic the record was archived from." },
    { name = "kafka_partition", trino = "integer", hive = "int", comment = "Its partition: with kafka_offset, the record's identity." },
    { name = "kafka_offset", trino = "bigint", hive = "bigint", comment = "Its offset in that partition." },
    { name = "year", trino = "integer", hive = "int", comment = "Year of the object's first record (lake key)." },
    { name = "month", trino = "integer", hive = "int", comment = "Month of the object's first record." },
    { name = "day", trino = "integer", hive = "int", comment = "Day of the object's first record." },
    { name = "hour", trino = "integer", hive = "int", comment = "Hour (UTC) of the object's first record." },
    { name = "object", trino = "varchar", hive = "string", comment = "The S3 object the line was read from." },
  ]

  partition_columns = [
    { name = "year", range = "${var.years.first},${var.years.last}", digits = null },
    { name = "month", range = "1,12", digits = 2 },
    { name = "day", range = "1,31", digits = 2 },
    { name = "hour", range = "0,23", digits = 2 },
  ]

  # Partition projection over the lake key's hours, for every table of the lake's layout:
  # no crawler and no MSCK REPAIR.
  projection = merge({ "projection.enabled" = "true" }, [
    for p in local.partition_columns : merge(
      { "projection.${p.name}.type" = "integer", "projection.${p.name}.range" = p.range },
      p.digits == null ? {} : { "projection.${p.name}.digits" = tostring(p.digits) },
    )
  ]...)
  hours = "year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/"
}

resource "aws_glue_catalog_database" "this" {
  name        = local.database
  description = "lakefeed's lake in s3://${var.bucket_name}/${var.prefix}/: per topic, its raw lines and a deduplicated view (docs/query.md)."

  tags = var.tags
}

# Every line of a topic's objects, as written: one string column holding the JSON line
# (ADR 15: payloads differ by source, and a JSON SerDe refuses or guesses at them). No
# crawler and no MSCK REPAIR: partition projection enumerates the hours.
resource "aws_glue_catalog_table" "lines" {
  for_each = local.tables

  name          = "${each.key}_lines"
  database_name = aws_glue_catalog_database.this.name
  description   = "Raw lines of topic ${each.value}, duplicates before dedup included; query the ${each.key} view instead unless you want those."
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(
    {
      EXTERNAL                    = "TRUE"
      compressionType             = "gzip"
      "storage.location.template" = "${local.lake}/${each.value}/${local.hours}"
    },
    local.projection,
  )

  dynamic "partition_keys" {
    for_each = local.partition_columns
    content {
      name = partition_keys.value.name
      type = "int"
    }
  }

  storage_descriptor {
    location      = "${local.lake}/${each.value}/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
      # U+0001 never occurs in a JSON line (JSON escapes every control character), so
      # the whole line is the one column.
      parameters = { "field.delim" = "\u0001", "serialization.format" = "\u0001" }
    }

    columns {
      name    = "line"
      type    = "string"
      comment = "One lake line: the record with kafka_topic, kafka_partition and kafka_offset (docs/contracts.md)."
    }
  }
}

# Athena reads a Glue table of type VIRTUAL_VIEW whose original text is its own view
# definition (base64 JSON). Terraform has no Athena view resource.
resource "aws_glue_catalog_table" "view" {
  for_each = local.tables

  name          = each.key
  database_name = aws_glue_catalog_database.this.name
  description   = "Topic ${each.value}, each record once: deduplicated on (kafka_partition, kafka_offset)."
  table_type    = "VIRTUAL_VIEW"

  parameters = {
    presto_view = "true"
    comment     = "Presto View"
  }

  view_expanded_text = "/* Presto View */"
  view_original_text = "/* Presto View: ${base64encode(jsonencode({
    originalSql = local.view_sql[each.key]
    catalog     = "awsdatacatalog"
    schema      = local.database
    columns     = [for c in local.view_columns : { name = c.name, type = c.trino }]
  }))} */"

  storage_descriptor {
    dynamic "columns" {
      for_each = local.view_columns
      content {
        name    = columns.value.name
        type    = columns.value.hive
        comment = columns.value.comment
      }
    }
  }

  depends_on = [aws_glue_catalog_table.lines]
}

# The Parquet of `lakefeed compact` (ADR 17): per topic and hour, one object of the view's
# rows for that hour, each record once. Projected like the lines table.
resource "aws_glue_catalog_table" "compacted" {
  for_each = local.tables

  name          = "${each.key}_compacted"
  database_name = aws_glue_catalog_database.this.name
  description   = "Topic ${each.value} compacted to Parquet by lakefeed compact: each record once, hours that have been compacted only."
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(
    {
      EXTERNAL                    = "TRUE"
      classification              = "parquet"
      "storage.location.template" = "${local.compacted}/${each.value}/${local.hours}"
    },
    local.projection,
  )

  dynamic "partition_keys" {
    for_each = local.partition_columns
    content {
      name = partition_keys.value.name
      type = "int"
    }
  }

  storage_descriptor {
    location      = "${local.compacted}/${each.value}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    # The view's columns, but the partitions: they are the partition keys above.
    dynamic "columns" {
      for_each = [for c in local.view_columns : c if !contains([for p in local.partition_columns : p.name], c.name)]
      content {
        name    = columns.value.name
        type    = columns.value.hive
        comment = columns.value.comment
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name          = "${var.name}-lake"
  description   = "Queries of the lake in s3://${var.bucket_name}/${var.prefix}/ (database ${local.database}): results encrypted, at most ${var.bytes_scanned_cutoff} bytes scanned a query."
  force_destroy = true # its saved queries go with it; the results stay in S3

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${var.bucket_name}/${var.results_prefix}/"

      encryption_configuration {
        encryption_option = var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-lake" })
}

locals {
  # arn:<partition>:athena:<region>:<account>:workgroup/<name>
  arn_parts = split(":", aws_athena_workgroup.this.arn)
  glue_arn  = "arn:${local.arn_parts[1]}:glue:${local.arn_parts[3]}:${local.arn_parts[4]}"
  bucket    = "arn:${local.arn_parts[1]}:s3:::${var.bucket_name}"

  # Read the lake, run queries in the workgroup, write results under results_prefix:
  # nothing else (no other workgroup, no catalog changes, no lake writes).
  analyst_statements = concat(
    [
      {
        Sid = "QueryInTheWorkgroup"
        Action = [
          "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
          "athena:GetQueryResults", "athena:GetQueryResultsStream", "athena:BatchGetQueryExecution",
          "athena:ListQueryExecutions", "athena:GetWorkGroup",
        ]
        Resource = aws_athena_workgroup.this.arn
      },
      {
        # The console's workgroup list: Athena has no resource to name for it.
        Sid      = "ListWorkgroups"
        Action   = "athena:ListWorkGroups"
        Resource = "*"
      },
      {
        Sid = "ReadTheCatalog"
        Action = [
          "glue:GetDatabase", "glue:GetTable", "glue:GetTables",
          "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
        ]
        Resource = [
          "${local.glue_arn}:catalog",
          "${local.glue_arn}:database/${local.database}",
          "${local.glue_arn}:table/${local.database}/*",
        ]
      },
      {
        Sid      = "ReadTheLake"
        Action   = "s3:GetObject"
        Resource = ["${local.bucket}/${var.prefix}/*", "${local.bucket}/${var.compacted_prefix}/*"]
      },
      {
        Sid      = "ResultObjects"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = "${local.bucket}/${var.results_prefix}/*"
      },
      {
        Sid       = "ListTheLakeAndResults"
        Action    = "s3:ListBucket"
        Resource  = local.bucket
        Condition = { StringLike = { "s3:prefix" = flatten([for p in [var.prefix, var.compacted_prefix, var.results_prefix] : ["${p}/", "${p}/*"]]) } }
      },
      {
        Sid      = "TheBucketItself"
        Action   = ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
        Resource = local.bucket
      },
    ],
    var.kms_key_arn == null ? [] : [
      {
        Sid       = "TheLakesKey"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${split(":", var.kms_key_arn)[3]}.amazonaws.com" } }
      },
    ],
  )
}

resource "aws_iam_policy" "analyst" {
  name        = "${var.name}-lake-analyst"
  description = "Query lakefeed's lake through the ${var.name}-lake Athena workgroup: read the lake and its catalog, write query results. Attach it to your analysts' role or group."
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [for s in local.analyst_statements : merge({ Effect = "Allow" }, s)]
  })

  tags = var.tags
}
