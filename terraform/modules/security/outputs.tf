output "security_group_id" {
  description = "ID of the cluster's security group: attach it to every host."
  value       = aws_security_group.this.id
}

output "security_group_arn" {
  description = "ARN of the cluster's security group."
  value       = aws_security_group.this.arn
}
