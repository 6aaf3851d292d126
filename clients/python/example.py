"""Records a user message for a pair, then asks convstate whether a free-form (non-template)
message may be sent to that user now, and prints the decision as one JSON line.

    /usr/bin/python3 clients/python/example.py 127.0.0.1:50051

Needs grpcio and protobuf (Debian: python3-grpcio, python3-protobuf) and the generated
code in gen/python (npx buf generate). Against a server with --auth-tokens and/or TLS, set
CONVSTATE_TOKEN (a bearer token) and CONVSTATE_TLS_CA (the PEM file of the server's CA).
"""

import json
import os
import pathlib
import secrets
import sys
import time

# The generated modules import each other as top-level packages (convstate.v1, buf.validate),
# so gen/python goes on the import path.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "gen" / "python"))

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from convstate.v1 import convstate_pb2, window_service_pb2, window_service_pb2_grpc  # noqa: E402

BUSINESS_ID = "106540352242922"  # the business phone number id
USER_ID = "5511987654321"  # the user's wa_id


def rfc3339(msg, field):
    return getattr(msg, field).ToJsonString() if msg.HasField(field) else None


def channel_for(addr):
    ca = os.environ.get("CONVSTATE_TLS_CA")
    if ca:
        with open(ca, "rb") as f:
            return grpc.secure_channel(addr, grpc.ssl_channel_credentials(root_certificates=f.read()))
    return grpc.insecure_channel(addr)


def main(addr):
    token = os.environ.get("CONVSTATE_TOKEN")
    metadata = (("authorization", "Bearer " + token),) if token else None
    with channel_for(addr) as channel:
        window = window_service_pb2_grpc.WindowServiceStub(channel)

        # A message from the user opens (or refreshes) the 24-hour customer service window.
        # Use Meta's message id (wamid) and timestamp from the webhook; recording is
        # idempotent on the id.
        message_id = f"wamid.py-{time.time_ns()}-{secrets.token_hex(4)}"
        now = Timestamp()
        now.GetCurrentTime()
        window.RecordUserMessage(
            window_service_pb2.RecordUserMessageRequest(
                message=convstate_pb2.UserMessage(
                    business_id=BUSINESS_ID, user_id=USER_ID, message_id=message_id, timestamp=now
                )
            ),
            timeout=10,
            metadata=metadata,
        )

        # No template in the request: ask about a free-form message, at the server's now.
        d = window.Decide(
            window_service_pb2.DecideRequest(business_id=BUSINESS_ID, user_id=USER_ID),
            timeout=10,
            metadata=metadata,
        )

    print(
        json.dumps(
            {
                "free_form_allowed": d.free_form_allowed,
                "reason": convstate_pb2.DecisionReason.Name(d.reason),
                "window_expires_at": rfc3339(d, "window_expires_at"),
                "send_before": rfc3339(d, "send_before"),
                "message_id": message_id,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: example.py HOST:PORT")
    try:
        main(sys.argv[1])
    except grpc.RpcError as err:  # carries the gRPC code and the server's message
        sys.exit(f"convstate: {err.code().name}: {err.details()}")
