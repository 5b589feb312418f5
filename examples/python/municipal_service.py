"""A municipal social service's program: report occupancy, find free places
near its municipality, hold one for a referral, confirm it, and see the
changes come by on a watch.

    python3 examples/python/municipal_service.py --socket /run/diplan/diplan.sock --municipality ludza

Needs the `protobuf` package (pip install 'protobuf>=4.21') and
clients/python on PYTHONPATH (or the package installed from there).
"""

import argparse
import itertools
import uuid

from diplan_client import Client, FailedPrecondition
from diplan_client.messages import domain_pb2, holds_pb2, plans_pb2, watch_pb2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default="/run/diplan/diplan.sock")
    parser.add_argument("--municipality", default="ludza")
    parser.add_argument("--plan", default="latgale-2017-2020")
    parser.add_argument("--referral", default="R-" + uuid.uuid4().hex[:8])
    arguments = parser.parse_args()

    with Client(arguments.socket) as client:
        # This month's occupancy: only the figures named change; planned and the source stay.
        line = domain_pb2.CapacityLine(
            plan_id=arguments.plan, municipality_id=arguments.municipality,
            service_type=domain_pb2.SERVICE_TYPE_DAY_CARE_CENTRE, target_group=domain_pb2.TARGET_GROUP_FT_CHILDREN,
            existing=12, occupied=9)
        report = plans_pb2.UpsertCapacityLineRequest(
            line=line, fields=[plans_pb2.LINE_FIELD_EXISTING, plans_pb2.LINE_FIELD_OCCUPIED])
        _, revision = client.call_with_revision(
            "/diplan.v1.Plans/UpsertCapacityLine", report, plans_pb2.UpsertCapacityLineResponse)
        print(f"reported occupancy at revision {revision}")

        # Free places, own municipality first, then the region by distance.
        found = client.call(
            "/diplan.v1.Holds/FindFreePlaces",
            holds_pb2.FindFreePlacesRequest(
                near_municipality_id=arguments.municipality, service_types=[domain_pb2.SERVICE_TYPE_DAY_CARE_CENTRE],
                target_groups=[domain_pb2.TARGET_GROUP_FT_CHILDREN]),
            holds_pb2.FindFreePlacesResponse)
        if not found.candidates:
            print("no free places")
            return
        best = found.candidates[0]
        print(f"{best.free} free in {best.municipality_name}")

        # Watch what happens there from now on, while holding and confirming.
        watch = client.stream(
            "/diplan.v1.Watch/Watch",
            watch_pb2.WatchRequest(from_revision=revision + 1, municipality_ids=[best.line.municipality_id]),
            watch_pb2.WatchResponse)

        # The key makes a retry safe: the same call again never holds twice.
        key = f"{arguments.referral}-hold"
        try:
            held = client.call(
                "/diplan.v1.Holds/Hold",
                holds_pb2.HoldRequest(idempotency_key=key, referral_id=arguments.referral, line=_key(best.line), places=1),
                holds_pb2.HoldResponse)
        except FailedPrecondition as refusal:
            print(f"taken meanwhile: {refusal.message}")
            return
        print(f"hold {held.hold.id}, {held.free} free after it")
        confirmed = client.call(
            "/diplan.v1.Holds/Confirm",
            holds_pb2.ConfirmRequest(hold_id=held.hold.id, idempotency_key=f"{arguments.referral}-confirm"),
            holds_pb2.ConfirmResponse)
        print(f"hold {confirmed.hold.id} confirmed at revision {confirmed.revision}")

        for answer in itertools.islice((a for a in watch if a.HasField("change")), 2):
            print(f"watched: revision {answer.change.revision}, {len(answer.change.mutations)} mutations")
        watch.close()


def _key(line: domain_pb2.CapacityLine) -> domain_pb2.LineKey:
    return domain_pb2.LineKey(
        plan_id=line.plan_id, municipality_id=line.municipality_id, service_type=line.service_type,
        target_group=line.target_group)


if __name__ == "__main__":
    main()
