output "role_name" {
  description = "Name of the hosts' IAM role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the hosts' IAM role."
  value       = aws_iam_role.this.arn
}

output "instance_profile_name" {
  description = "Instance profile to give the hosts that write the lake."
  value       = aws_iam_instance_profile.this.name
}

output "instance_profile_arn" {
  description = "ARN of the instance profile."
  value       = aws_iam_instance_profile.this.arn
}

output "policy_json" {
  description = "The role's only policy, as JSON."
  value       = local.policy
}
