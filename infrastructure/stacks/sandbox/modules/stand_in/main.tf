# One null resource standing in for a real AWS resource: replacing it is what replacing the
# real one would be, so the destructive guard can be exercised without an AWS account.
resource "null_resource" "this" {
  count = var.create ? 1 : 0

  triggers = var.triggers
}
