"""The function of the example image."""


def handler(event, context):
    return {"hello": event.get("name"), "request_id": context.aws_request_id}
