mock_provider "aws" {
  mock_resource "aws_athena_workgroup" {
    defaults        = { arn = "arn:aws:athena:eu-west-1:111122223333:workgroup/lf-test-lake" }
    override_during = plan
  }
}

variables {
  name        = "lf-test"
  bucket_name = "lf-test-lake"
  prefix      = "raw"
  topics      = ["x.posts", "flights"]
}

run "a_lines_table_and_a_view_per_topic" {
  command = plan

  assert {
    condition     = aws_glue_catalog_database.this.name == "lf_test_lake"
    error_message = "The database is <name>_lake with hyphens as underscores (Glue's rule)."
  }
  assert {
    condition     = toset(keys(aws_glue_catalog_table.lines)) == toset(["x_posts", "flights"]) && aws_glue_catalog_table.lines["x_posts"].name == "x_posts_lines" && aws_glue_catalog_table.view["x_posts"].name == "x_posts"
    error_message = "Topic x.posts gets table x_posts_lines and view x_posts."
  }
  assert {
    condition     = aws_glue_catalog_table.lines["x_posts"].storage_descriptor[0].location == "s3://lf-test-lake/raw/x.posts/"
    error_message = "A topic's table reads <prefix>/<topic>/ (the lake-key contract)."
  }
  assert {
    condition     = [for c in aws_glue_catalog_table.lines["x_posts"].storage_descriptor[0].columns : c.name] == ["line"] && aws_glue_catalog_table.lines["x_posts"].storage_descriptor[0].ser_de_info[0].parameters["field.delim"] == "\u0001"
    error_message = "The lines table has one column, the whole line: its field delimiter is U+0001, which JSON never holds raw."
  }
}

run "partitions_are_projected_from_the_lake_key" {
  command = plan

  variables {
    years = { first = 2026, last = 2030 }
  }

  assert {
    condition     = [for k in aws_glue_catalog_table.lines["flights"].partition_keys : k.name] == ["year", "month", "day", "hour"]
    error_message = "Partitions are year, month, day, hour: the key's order."
  }
  assert {
    condition = { for k, v in aws_glue_catalog_table.lines["flights"].parameters : k => v if startswith(k, "projection.") } == {
      "projection.enabled"      = "true"
      "projection.year.type"    = "integer"
      "projection.year.range"   = "2026,2030"
      "projection.month.type"   = "integer"
      "projection.month.range"  = "1,12"
      "projection.month.digits" = "2"
      "projection.day.type"     = "integer"
      "projection.day.range"    = "1,31"
      "projection.day.digits"   = "2"
      "projection.hour.type"    = "integer"
      "projection.hour.range"   = "0,23"
      "projection.hour.digits"  = "2"
    }
    error_message = "Every partition column is projected, zero-padded as the lake key writes it (month=01): no crawler, no MSCK REPAIR."
  }
  assert {
    condition     = aws_glue_catalog_table.lines["flights"].parameters["storage.location.template"] == "s3://lf-test-lake/raw/flights/year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/"
    error_message = "The location template must be the lake key's layout."
  }
}

run "the_view_dedups_on_the_lines_coordinates" {
  command = plan

  assert {
    condition     = aws_glue_catalog_table.view["x_posts"].table_type == "VIRTUAL_VIEW" && aws_glue_catalog_table.view["x_posts"].parameters["presto_view"] == "true"
    error_message = "The view must be an Athena (Presto) view."
  }
  assert {
    condition     = strcontains(jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["x_posts"].view_original_text, "/* Presto View: "), " */"))).originalSql, "PARTITION BY kafka_partition, kafka_offset")
    error_message = "The view keeps one copy per (kafka_partition, kafka_offset)."
  }
  assert {
    condition     = strcontains(jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["x_posts"].view_original_text, "/* Presto View: "), " */"))).originalSql, "FROM \"lf_test_lake\".\"x_posts_lines\"")
    error_message = "The view reads its own topic's lines table."
  }
  assert {
    condition = [for c in jsondecode(base64decode(trimsuffix(trimprefix(aws_glue_catalog_table.view["x_posts"].view_original_text, "/* Presto View: "), " */"))).columns : c.name] == [
      for c in aws_glue_catalog_table.view["x_posts"].storage_descriptor[0].columns : c.name
    ]
    error_message = "The view definition's columns and Glue's schema must list the same columns in the same order."
  }
}

run "the_compacted_parquet_is_a_projected_table_of_the_views_columns" {
  command = plan

  assert {
    condition     = aws_glue_catalog_table.compacted["x_posts"].name == "x_posts_compacted" && aws_glue_catalog_table.compacted["x_posts"].storage_descriptor[0].location == "s3://lf-test-lake/compacted/x.posts/"
    error_message = "Topic x.posts gets table x_posts_compacted over compacted/x.posts/ (lakefeed compact's keys)."
  }
  assert {
    condition     = aws_glue_catalog_table.compacted["x_posts"].storage_descriptor[0].ser_de_info[0].serialization_library == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    error_message = "The compacted table reads Parquet."
  }
  assert {
    condition = concat(
      [for c in aws_glue_catalog_table.compacted["x_posts"].storage_descriptor[0].columns : c.name],
      [for k in aws_glue_catalog_table.compacted["x_posts"].partition_keys : k.name],
      ) == concat(
      [for c in aws_glue_catalog_table.view["x_posts"].storage_descriptor[0].columns : c.name if !contains(["year", "month", "day", "hour"], c.name)],
      ["year", "month", "day", "hour"],
    )
    error_message = "The compacted table has the view's columns, its hours as projected partitions."
  }
  assert {
    condition     = aws_glue_catalog_table.compacted["flights"].parameters["storage.location.template"] == "s3://lf-test-lake/compacted/flights/year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/" && aws_glue_catalog_table.compacted["flights"].parameters["projection.hour.digits"] == "2"
    error_message = "The compacted table is projected over the same hour layout."
  }
}

run "workgroup_encrypts_results_and_caps_the_scan" {
  command = plan

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration && aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 10737418240
    error_message = "Clients cannot override the workgroup's settings, and a query stops at 10 GiB scanned by default."
  }
  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://lf-test-lake/athena-results/" && aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_S3"
    error_message = "Results go to athena-results/ of the lake bucket, encrypted."
  }
}

run "analysts_read_and_query_nothing_more" {
  command = plan

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s.Action if startswith(jsonencode(s.Action), "[\"s3") || startswith(jsonencode(s.Action), "\"s3")])) == toset([
      "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
      "s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads",
    ])
    error_message = "S3: read, list, and write query results; no delete."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s if s.Sid == "ResultObjects"
    ]).Resource == "arn:aws:s3:::lf-test-lake/athena-results/*"
    error_message = "Analysts write only under the results prefix, never the lake."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s if s.Sid == "ReadTheLake"
    ]).Resource == ["arn:aws:s3:::lf-test-lake/raw/*", "arn:aws:s3:::lf-test-lake/compacted/*"]
    error_message = "Analysts read the lake's prefix and the compacted Parquet's only."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s if s.Sid == "ReadTheCatalog"
    ]).Resource == ["arn:aws:glue:eu-west-1:111122223333:catalog", "arn:aws:glue:eu-west-1:111122223333:database/lf_test_lake", "arn:aws:glue:eu-west-1:111122223333:table/lf_test_lake/*"]
    error_message = "Glue reads are limited to the lake's database, in the workgroup's region and account."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s.Effect == "Allow" && !can(s.NotAction) && !can(s.NotResource) && !strcontains(jsonencode(s.Action), "*")])
    error_message = "Only plain Allow statements naming their actions: no wildcard, no NotAction/NotResource."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s if s.Sid == "QueryInTheWorkgroup"]).Resource == "arn:aws:athena:eu-west-1:111122223333:workgroup/lf-test-lake"
    error_message = "Queries run in the lake's workgroup only (its limits and encryption apply)."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s.Action if s.Resource == "*"] == ["athena:ListWorkGroups"]
    error_message = "Only listing the workgroups (the console's picker) may name no resource."
  }
}

run "a_kms_key_encrypts_results_and_is_granted_through_s3_only" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/0f2c3b1a-1111-2222-3333-444455556666"
  }

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS"
    error_message = "With the lake's KMS key the results are SSE-KMS too."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_policy.analyst.policy).Statement : s if s.Sid == "TheLakesKey"]).Condition.StringEquals["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"
    error_message = "The key is usable only through S3."
  }
}

run "results_inside_the_lake_are_refused" {
  command = plan

  variables {
    results_prefix = "raw/athena"
  }

  expect_failures = [var.results_prefix]
}

run "compacted_parquet_inside_the_lake_is_refused" {
  command = plan

  variables {
    compacted_prefix = "raw/parquet"
  }

  expect_failures = [var.compacted_prefix]
}

run "two_topics_of_one_table_name_are_refused" {
  command = plan

  variables {
    topics = ["x.posts", "X_posts"]
  }

  expect_failures = [var.topics]
}
