# Staging: production-shaped, smaller and cheaper. No secrets here: the database password is
# generated and kept by RDS in Secrets Manager (manage_master_user_password).
environment = "staging"
region      = "eu-west-1"

vpc_cidr             = "10.40.0.0/16"
availability_zones   = ["eu-west-1a", "eu-west-1b"]
private_subnet_cidrs = ["10.40.0.0/19", "10.40.32.0/19"]
public_subnet_cidrs  = ["10.40.128.0/24", "10.40.129.0/24"]
single_nat_gateway   = true

database_instance_class           = "db.t4g.medium"
database_allocated_storage_gb     = 50
database_max_allocated_storage_gb = 200
database_multi_az                 = false
database_backup_retention_days    = 7

backup_retention_days     = 90
backup_glacier_after_days = 30

batch_pools = {
  spot = {
    type           = "SPOT"
    instance_types = ["m6i.large", "m6i.xlarge", "m5.xlarge"]
    min_vcpus      = 0
    max_vcpus      = 64
    priority       = 10
  }
  large_memory = {
    type           = "EC2"
    instance_types = ["r6i.2xlarge", "r6i.4xlarge"] # the 65536 MB tier needs the 128 GiB size
    min_vcpus      = 0
    max_vcpus      = 32
    priority       = 20
  }
}

foreman_instance_type = "t3.small"
log_retention_days    = 90

# The lake's second copy (cross-region replication, alarmed when it falls behind).
replica_region = "eu-central-1"

# The CI deploy assumes a role through GitHub OIDC: only this repository's release workflow,
# running in the GitHub environment named like this one, may assume it.
github_repository           = "refinery-platform/refinery"
create_github_oidc_provider = true # one provider per account: staging's
