"""What the benchmark clients share."""

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::111111111111:role/bench"


def client(endpoint):
    """boto3 as a user would configure it against lambox, without retries."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="111111111111",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, tcp_keepalive=True),
    )
