"""`inv release.*`: release versions and tags, and the environment each deploys to."""
