terraform {
  required_version = ">= 1.0.3"

  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }

  # Partial configuration: bucket, key, region, dynamodb_table (and endpoints) come from the
  # environment file through `terraform init -backend-config`.
  backend "s3" {}
}
