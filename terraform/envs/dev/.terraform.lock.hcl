# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.100.0"
  constraints = ">= 5.0.0, 5.100.0"
  hashes = [
    "h1:7JKBcKQVdnFcf27NBzJzEsMZy+Te77p8Si/fV0G6Hq0=",
  ]
}
