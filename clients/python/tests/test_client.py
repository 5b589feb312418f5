"""The Python client against the real daemon: started from the built binary
on a fresh state directory (its embedded dataset), as `make test` does."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))

from diplan_client import Client, FailedPrecondition, InvalidArgument, NotFound, Unavailable  # noqa: E402
from diplan_client.messages import domain_pb2, holds_pb2, plans_pb2, watch_pb2  # noqa: E402

SERVER = os.environ.get("DIPLAN_SERVER", os.path.join(ROOT, ".build", "debug", "diplan-server"))
PLAN = "latgale-2017-2020"


def line(municipality="ludza", **figures):
    return domain_pb2.CapacityLine(
        plan_id=PLAN, municipality_id=municipality, service_type=domain_pb2.SERVICE_TYPE_DAY_CARE_CENTRE,
        target_group=domain_pb2.TARGET_GROUP_FT_CHILDREN, **figures)


class DaemonTestCase(unittest.TestCase):
    """A daemon of its own for each test."""

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="diplan-py-")
        self.socket = os.path.join(self.directory, "d.sock")
        self.daemon = subprocess.Popen(
            [SERVER, "--socket", self.socket, "--state-dir", os.path.join(self.directory, "state")],
            stderr=subprocess.DEVNULL)
        # The socket's file appears at bind(), a moment before listen(): wait until a connection is taken.
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client = Client(self.socket, timeout=10)
                break
            except Unavailable:
                if time.monotonic() > deadline or self.daemon.poll() is not None:
                    raise RuntimeError("the daemon did not start") from None
                time.sleep(0.05)

    def tearDown(self):
        self.client.close()
        self.daemon.terminate()
        self.daemon.wait(timeout=20)
        shutil.rmtree(self.directory, ignore_errors=True)

    def set_line(self, fields, **figures):
        request = plans_pb2.UpsertCapacityLineRequest(line=line(**figures), fields=fields)
        return self.client.call_with_revision(
            "/diplan.v1.Plans/UpsertCapacityLine", request, plans_pb2.UpsertCapacityLineResponse)


class ClientTests(DaemonTestCase):
    def test_a_query_answers_with_its_revision(self):
        answer, revision = self.client.call_with_revision(
            "/diplan.v1.Plans/QueryCapacity", plans_pb2.QueryCapacityRequest(regions=[domain_pb2.REGION_LATGALE]),
            plans_pb2.QueryCapacityResponse)
        self.assertEqual(revision, 1)
        # One total per unit: places, and children served by social rehabilitation.
        self.assertEqual(len(answer.groups), 2)
        self.client.ping()

    def test_refusals_are_exceptions_of_their_code(self):
        with self.assertRaises(NotFound) as refused:
            self.client.call("/diplan.v1.Plans/GetPlan", plans_pb2.GetPlanRequest(plan_id="Latgale-2017-2020"),
                             plans_pb2.GetPlanResponse)
        self.assertEqual(refused.exception.code, 5)
        self.assertIn("did you mean latgale-2017-2020?", refused.exception.message)
        # An update naming no field, and a hold of more places than are free.
        with self.assertRaises(InvalidArgument):
            self.client.call("/diplan.v1.Plans/UpsertCapacityLine", plans_pb2.UpsertCapacityLineRequest(line=line()),
                             plans_pb2.UpsertCapacityLineResponse)
        self.set_line([plans_pb2.LINE_FIELD_EXISTING, plans_pb2.LINE_FIELD_OCCUPIED], existing=10, occupied=9)
        key = domain_pb2.LineKey(plan_id=PLAN, municipality_id="ludza", service_type=domain_pb2.SERVICE_TYPE_DAY_CARE_CENTRE,
                                 target_group=domain_pb2.TARGET_GROUP_FT_CHILDREN)
        with self.assertRaises(FailedPrecondition) as refused:
            self.client.call("/diplan.v1.Holds/Hold",
                             holds_pb2.HoldRequest(idempotency_key="k", referral_id="R-1", line=key, places=2),
                             holds_pb2.HoldResponse)
        self.assertIn("only 1 places are free", refused.exception.message)

    def test_a_figure_reported_alone_keeps_the_others(self):
        self.set_line([plans_pb2.LINE_FIELD_PLANNED, plans_pb2.LINE_FIELD_EXISTING, plans_pb2.LINE_FIELD_SOURCE],
                      planned=12, existing=10, source="Ludza social service")
        answer, _ = self.set_line([plans_pb2.LINE_FIELD_OCCUPIED], occupied=7)
        self.assertEqual((answer.line.planned, answer.line.existing, answer.line.occupied), (12, 10, 7))
        self.assertEqual(answer.line.source, "Ludza social service")
        # Unknown is not zero: a figure never set is absent.
        self.assertFalse(answer.line.HasField("assessed_need"))

    def test_calls_from_many_threads_share_one_connection(self):
        errors = []
        revisions = []

        def work(index):
            try:
                _, revision = self.set_line([plans_pb2.LINE_FIELD_PLANNED], planned=index)
                revisions.append(revision)
                self.client.call("/diplan.v1.Plans/ListPlans", plans_pb2.ListPlansRequest(), plans_pb2.ListPlansResponse)
            except Exception as error:  # noqa: BLE001 - collected, then asserted
                errors.append(error)

        threads = [threading.Thread(target=work, args=(index,)) for index in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(revisions), list(range(2, 18)))

    def test_watch_is_an_iterator_of_changes(self):
        stream = self.client.stream(
            "/diplan.v1.Watch/Watch", watch_pb2.WatchRequest(from_revision=2, municipality_ids=["ludza"]),
            watch_pb2.WatchResponse)
        self.set_line([plans_pb2.LINE_FIELD_PLANNED], planned=3)
        self.set_line([plans_pb2.LINE_FIELD_PLANNED], planned=4)
        changes = []
        for answer in stream:
            if answer.HasField("change"):
                changes.append(answer.change.revision)
            if len(changes) == 2:
                break
        stream.close()
        self.assertEqual(changes, [2, 3])
        # The connection still serves after the watch is cancelled.
        self.client.ping()

    def test_the_municipal_service_example_runs(self):
        self.set_line([plans_pb2.LINE_FIELD_PLANNED], planned=12)
        environment = dict(os.environ, PYTHONPATH=os.path.join(HERE, ".."))
        example = os.path.join(ROOT, "examples", "python", "municipal_service.py")
        result = subprocess.run(
            [sys.executable, example, "--socket", self.socket, "--referral", "R-7"], env=environment,
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("3 free in Ludzas novads", result.stdout)
        self.assertIn("confirmed", result.stdout)
        self.assertEqual(result.stdout.count("watched: revision"), 2, result.stdout)


class ConnectionTests(unittest.TestCase):
    def test_no_daemon_is_unavailable(self):
        with self.assertRaises(Unavailable):
            Client("/nonexistent/d.sock")


if __name__ == "__main__":
    unittest.main()
