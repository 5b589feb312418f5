"""The messages of diplan's contract, generated from proto/ by `make proto`.

    from diplan_client.messages import plans_pb2, holds_pb2, watch_pb2, domain_pb2, admin_pb2
"""

from diplan.rpc.v1 import rpc_pb2  # noqa: F401
from diplan.v1 import admin_pb2, domain_pb2, holds_pb2, plans_pb2, storage_pb2, watch_pb2  # noqa: F401
