output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Zones the subnets span, in the order of the subnet lists."
  value       = local.azs
}

output "public_subnets" {
  description = "Public subnets, one per zone in availability_zones order: id, availability_zone, cidr_block."
  value = [for az in local.azs : {
    id                = aws_subnet.public[az].id
    availability_zone = az
    cidr_block        = aws_subnet.public[az].cidr_block
  }]
}

output "private_subnets" {
  description = "Private subnets, one per zone in availability_zones order: id, availability_zone, cidr_block."
  value = [for az in local.azs : {
    id                = aws_subnet.private[az].id
    availability_zone = az
    cidr_block        = aws_subnet.private[az].cidr_block
  }]
}

output "public_route_table_id" {
  description = "Route table of the public subnets (default route to the internet gateway)."
  value       = aws_route_table.public.id
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets, in availability_zones order."
  value       = [for az in local.azs : aws_route_table.private[az].id]
}

output "nat_gateway_ids" {
  description = "NAT gateways by zone; empty when nat_gateway is \"none\"."
  value       = { for az, nat in aws_nat_gateway.this : az => nat.id }
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint, or null."
  value       = one(aws_vpc_endpoint.s3[*].id)
}

output "flow_log_group_name" {
  description = "CloudWatch Logs group receiving the VPC flow logs, or null."
  value       = one(aws_cloudwatch_log_group.flow_logs[*].name)
}
