terraform {
  required_version = ">= 1.0.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.82.2"
    }
  }

  # Partial configuration: bucket, key (one per environment), region and dynamodb_table come
  # from the environment file through `terraform init -backend-config` (ops/tf).
  backend "s3" {}
}
