variable "region" {
  description = "AWS region of the whole environment, e.g. \"us-east-1\"."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as \"us-east-1\" or \"eu-west-1\"."
  }
}

variable "name" {
  description = "Name of the cluster: the lakefeed:cluster tag and the prefix of every resource name."
  type        = string
  default     = "lakefeed-dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.name))
    error_message = "name must be 2-32 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "admin_cidrs" {
  description = "IPv4 ranges allowed to SSH to the hosts: the address of the machine that runs lakefeed/Ansible as /32, or your VPN's range. 0.0.0.0/0 is refused."
  type        = list(string)
}

variable "ssh_public_key" {
  description = "OpenSSH public key line for the hosts' admin user (contents of e.g. ~/.ssh/id_ed25519.pub)."
  type        = string
}

variable "ssh_user" {
  description = "User Ansible logs in as: \"admin\" on Debian's AMIs; change it only with ami_id (\"ubuntu\" on Ubuntu's)."
  type        = string
  default     = "admin"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.ssh_user))
    error_message = "ssh_user must be a Unix user name such as \"admin\"."
  }
}

variable "ssh_private_key_file" {
  description = "Private key file, on the machine that runs lakefeed, matching ssh_public_key, e.g. \"~/.ssh/lakefeed_ed25519\". The inventory then sets ansible_ssh_private_key_file, so Ansible needs no ssh-agent (cron runs have none). null: ssh's defaults and agent pick the key."
  type        = string
  default     = null

  validation {
    condition     = var.ssh_private_key_file == null || can(regex("^(/|~/).+", var.ssh_private_key_file))
    error_message = "ssh_private_key_file must be null, an absolute path (\"/home/me/.ssh/id_ed25519\") or one starting with \"~/\" (\"~/.ssh/id_ed25519\"): a relative path would depend on the directory lakefeed runs in."
  }
}

variable "ssh_address" {
  description = "Address Ansible connects to: \"auto\", the host's public IP where it has one, else its private IP; \"private\", always the private IP. Choose \"private\" when you reach the hosts over a VPN, a bastion (ProxyJump) or from inside the VPC, even though they have public addresses."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "private"], var.ssh_address)
    error_message = "ssh_address must be \"auto\" (public IP where there is one, else private) or \"private\" (always the private IP)."
  }
}

variable "ami_id" {
  description = "AMI for every host. null: the newest official Debian 12 (bookworm) amd64 AMI of the region (owner 136693071363). Pinning one keeps new hosts identical to old ones."
  type        = string
  default     = null
}

variable "hosts" {
  description = "Hosts by group (see the cluster module's groups): count, instance_type, root_volume_gb, data_volume_gb, ... Default: 3 Kafka hosts, t3.large, 100 GB data volume each."
  type = map(object({
    count                  = number
    instance_type          = string
    root_volume_gb         = optional(number, 20)
    data_volume_gb         = optional(number, 0)
    data_volume_iops       = optional(number, 3000)
    data_volume_throughput = optional(number, 125)
    data_mount_point       = optional(string)
  }))
  default = {
    kafka = { count = 3, instance_type = "t3.large", root_volume_gb = 20, data_volume_gb = 100 }
  }

  validation {
    condition     = var.ami_id != null || alltrue([for g in values(var.hosts) : !can(regex("^[a-z]+[0-9]+g[a-z]*\\.", g.instance_type))])
    error_message = "Graviton (arm64) instance types such as t4g or m7g need an arm64 AMI: set ami_id (the default AMI is amd64)."
  }
}

variable "services" {
  description = "Pipeline daemons placed on hosts by name, like the lab: the collector on kafka-1, archiver and shipper (sharing the spool) on kafka-2. With a \"pipeline\" group in hosts, name pipeline-1 instead."
  type        = map(list(string))
  default = {
    collector = ["kafka-1"]
    archiver  = ["kafka-2"]
    shipper   = ["kafka-2"]
  }
}

variable "vpc_cidr" {
  description = "IPv4 range of the VPC."
  type        = string
  default     = "10.42.0.0/16"
}

variable "az_count" {
  description = "Availability zones to span; Kafka hosts are spread over them (broker.rack = zone)."
  type        = number
  default     = 3
}

variable "availability_zones" {
  description = "Pin the zones by name, e.g. [\"us-east-1a\", \"us-east-1b\", \"us-east-1d\"] (then az_count is ignored). Empty: the first az_count zones of the region by name."
  type        = list(string)
  default     = []
}

variable "private_hosts" {
  description = "Put the hosts in private subnets without public addresses (reach them through a VPN or bastion; admin_cidrs then names that network). Needs a NAT gateway for package downloads."
  type        = bool
  default     = false

  validation {
    condition     = !var.private_hosts || var.nat_gateway != "none"
    error_message = "private_hosts = true needs nat_gateway = \"single\" or \"one_per_az\": the hosts download packages and the Kafka release."
  }
}

variable "nat_gateway" {
  description = "NAT gateway for the private subnets: \"none\", \"single\" or \"one_per_az\". Only useful with private_hosts = true."
  type        = string
  default     = "none"
}

variable "flow_logs" {
  description = "Record VPC flow logs to CloudWatch Logs for a year."
  type        = bool
  default     = false
}

variable "lake_bucket" {
  description = "Name of the lake bucket to create; globally unique, e.g. \"acme-lakefeed-dev-lake\"."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix the shipper writes under (shipper_s3_prefix in inventories/aws); the hosts' IAM policy reaches nothing else."
  type        = string
  default     = "raw"
}

variable "lake_topics" {
  description = "The archived topics, for the catalog's tables and views (terraform/modules/catalog). `lakefeed up --env aws` sets it from archiver_topics in inventories/aws/group_vars, so the catalog follows what the archiver archives; set it yourself only when you run Terraform by hand."
  type        = list(string)
  default     = ["x.posts"]
}

variable "query_bytes_scanned_cutoff" {
  description = "Athena cancels a query of the lake's workgroup once it has scanned this many bytes (at least 10485760). Default 10 GiB, about $0.05 a query."
  type        = number
  default     = 10737418240
}

variable "lake_lifecycle" {
  description = "Days after creation before objects under the prefix move to STANDARD_IA and GLACIER_IR and expire (0 turns a step off), and days before overwritten or deleted versions are removed."
  type = object({
    standard_ia_days           = optional(number, 30)
    glacier_ir_days            = optional(number, 90)
    expiration_days            = optional(number, 365)
    noncurrent_expiration_days = optional(number, 30)
  })
  default = {}
}

variable "lake_force_destroy" {
  description = "Let `lakefeed down` delete the lake bucket with everything in it. false: down stops at a non-empty bucket, and the lake survives."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the lake (SSE-KMS) and the EBS volumes. null: SSE-S3 and the account's aws/ebs key."
  type        = string
  default     = null
}

variable "endpoint_url" {
  description = "Send every AWS API call (EC2, IAM, S3, STS, CloudWatch Logs, Glue, Athena) to this AWS-compatible endpoint, e.g. \"http://127.0.0.1:5000\" for moto; credential, account and metadata checks are skipped and S3 uses path-style addressing. null: real AWS."
  type        = string
  default     = null

  validation {
    condition     = var.endpoint_url == null || can(regex("^https?://[^/]+/?$", var.endpoint_url))
    error_message = "endpoint_url must be null or an http(s) URL with no path, such as \"http://127.0.0.1:5000\"."
  }
}

variable "tags" {
  description = "Tags added to every resource (with lakefeed:cluster and lakefeed:managed-by), e.g. {owner = \"data-team\", cost-center = \"1234\"}."
  type        = map(string)
  default     = {}
}
