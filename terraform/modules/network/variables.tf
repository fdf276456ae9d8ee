variable "name" {
  description = "Prefix of every resource's Name tag, e.g. \"lakefeed-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.name))
    error_message = "name must be 2-32 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  description = "IPv4 range of the VPC, e.g. \"10.42.0.0/16\". Public and private subnets are carved from it."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && can(regex("^[0-9.]+/[0-9]+$", var.cidr_block))
    error_message = "cidr_block must be an IPv4 CIDR such as \"10.42.0.0/16\"."
  }

  validation {
    # try(): an unparsable value is the previous rule's to report.
    condition     = try(tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 24, true)
    error_message = "cidr_block's prefix length must be from /16 to /24 (what AWS allows for a VPC, leaving room for subnets)."
  }
}

variable "az_count" {
  description = "How many availability zones to span (one public and one private subnet in each). Ignored when availability_zones is set."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 1 to 6."
  }
}

variable "availability_zones" {
  description = "Exact availability zones to use, e.g. [\"us-east-1a\", \"us-east-1b\", \"us-east-1c\"]. Empty: the first az_count of the region's standard zones, by name."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) <= 6 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must list at most 6 zones, each once."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each subnet: 4 turns a /16 into /20 subnets. Public subnets take the lower half of the range, private ones the upper half."
  type        = number
  default     = 4

  validation {
    condition     = var.subnet_newbits >= 4 && var.subnet_newbits <= 8
    error_message = "subnet_newbits must be from 4 to 8 (4 leaves room for 6 zones in each half of the range)."
  }
}

variable "nat_gateway" {
  description = "Egress for the private subnets: \"none\" (hosts in private subnets reach only the VPC and S3), \"single\" (one NAT gateway, cheapest) or \"one_per_az\" (survives the loss of a zone)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "single", "one_per_az"], var.nat_gateway)
    error_message = "nat_gateway must be one of: \"none\", \"single\", \"one_per_az\"."
  }
}

variable "s3_gateway_endpoint" {
  description = "Route S3 traffic of every subnet through a gateway VPC endpoint (free; keeps lake uploads off the NAT gateway and the internet)."
  type        = bool
  default     = true
}

variable "flow_logs" {
  description = "Record the VPC's traffic metadata to a CloudWatch Logs group: enabled, retention_days (one of CloudWatch's allowed values), kms_key_arn (null: CloudWatch's own encryption) and traffic_type (ACCEPT, REJECT or ALL)."
  type = object({
    enabled        = optional(bool, false)
    retention_days = optional(number, 365)
    kms_key_arn    = optional(string)
    traffic_type   = optional(string, "ALL")
  })
  default = {}

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_logs.retention_days)
    error_message = "flow_logs.retention_days must be one of CloudWatch's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_logs.traffic_type)
    error_message = "flow_logs.traffic_type must be one of: \"ACCEPT\", \"REJECT\", \"ALL\"."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
