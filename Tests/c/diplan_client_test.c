/*
 * Drives the real daemon through the C client, for the Swift test suite
 * (CClientTests), built with AddressSanitizer so that any leak fails it.
 *
 *   diplan_client_test SOCKET all      every query, a refused update, a hold and
 *                                      release, a watch of another client's change,
 *                                      deadlines, frames over the limit
 *   diplan_client_test SOCKET vanish   a watch that the daemon dies under
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diplan_client.h"
#include "diplan/v1/holds.pb-c.h"
#include "diplan/v1/plans.pb-c.h"
#include "diplan/v1/watch.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

static int failures = 0;
static const char *socket_path;

#define CHECK(condition, ...)                                          \
    do {                                                               \
        if (!(condition)) {                                            \
            failures++;                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                              \
            fprintf(stderr, "\n");                                     \
        }                                                              \
    } while (0)

/* Calls and checks the code; returns the response (or NULL). */
static ProtobufCMessage *call(diplan_client *client, const char *method, const ProtobufCMessage *request,
                              const ProtobufCMessageDescriptor *descriptor, int expected) {
    diplan_status status;
    ProtobufCMessage *response = NULL;
    uint64_t revision = 0;
    int code = diplan_call(client, method, request, descriptor, &response, &revision, 5000, &status);
    CHECK(code == expected, "%s: expected %s, got %s: %s", method, diplan_code_name(expected), diplan_code_name(code), status.message);
    CHECK((code == DIPLAN_OK) == (response != NULL), "%s: a response iff OK", method);
    if (code == DIPLAN_OK) CHECK(revision >= 1, "%s: revision %llu", method, (unsigned long long)revision);
    return response;
}

static void queries(diplan_client *client) {
    Grpc__Health__V1__HealthCheckRequest health = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Grpc__Health__V1__HealthCheckResponse *serving = (Grpc__Health__V1__HealthCheckResponse *)call(
        client, "/grpc.health.v1.Health/Check", &health.base, &grpc__health__v1__health_check_response__descriptor, DIPLAN_OK);
    CHECK(serving && serving->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING, "health");
    protobuf_c_message_free_unpacked(&serving->base, NULL);

    Diplan__V1__ListRegionsRequest regions = DIPLAN__V1__LIST_REGIONS_REQUEST__INIT;
    Diplan__V1__ListRegionsResponse *listed = (Diplan__V1__ListRegionsResponse *)call(
        client, "/diplan.v1.Plans/ListRegions", &regions.base, &diplan__v1__list_regions_response__descriptor, DIPLAN_OK);
    CHECK(listed && listed->n_regions == 5, "five regions");
    protobuf_c_message_free_unpacked(&listed->base, NULL);

    Diplan__V1__ListMunicipalitiesRequest municipalities = DIPLAN__V1__LIST_MUNICIPALITIES_REQUEST__INIT;
    Diplan__V1__Region latgale[] = {DIPLAN__V1__REGION__REGION_LATGALE};
    municipalities.n_regions = 1;
    municipalities.regions = latgale;
    Diplan__V1__ListMunicipalitiesResponse *latgale_municipalities = (Diplan__V1__ListMunicipalitiesResponse *)call(
        client, "/diplan.v1.Plans/ListMunicipalities", &municipalities.base, &diplan__v1__list_municipalities_response__descriptor, DIPLAN_OK);
    CHECK(latgale_municipalities && latgale_municipalities->n_municipalities == 9, "9 Latgale municipalities today");
    protobuf_c_message_free_unpacked(&latgale_municipalities->base, NULL);

    Diplan__V1__ListPlansRequest plans = DIPLAN__V1__LIST_PLANS_REQUEST__INIT;
    Diplan__V1__ListPlansResponse *listed_plans = (Diplan__V1__ListPlansResponse *)call(
        client, "/diplan.v1.Plans/ListPlans", &plans.base, &diplan__v1__list_plans_response__descriptor, DIPLAN_OK);
    CHECK(listed_plans && listed_plans->n_plans == 5, "the plans of the five regions");
    protobuf_c_message_free_unpacked(&listed_plans->base, NULL);

    Diplan__V1__GetPlanRequest plan = DIPLAN__V1__GET_PLAN_REQUEST__INIT;
    plan.plan_id = "latgale-2017-2020";
    Diplan__V1__GetPlanResponse *got = (Diplan__V1__GetPlanResponse *)call(
        client, "/diplan.v1.Plans/GetPlan", &plan.base, &diplan__v1__get_plan_response__descriptor, DIPLAN_OK);
    CHECK(got && got->n_targets == 8 && got->plan->n_events == 9, "the Latgale plan");
    protobuf_c_message_free_unpacked(&got->base, NULL);

    Diplan__V1__QueryCapacityRequest query = DIPLAN__V1__QUERY_CAPACITY_REQUEST__INIT;
    Diplan__V1__CapacityGrouping by[] = {DIPLAN__V1__CAPACITY_GROUPING__CAPACITY_GROUPING_SERVICE_TYPE,
                                          DIPLAN__V1__CAPACITY_GROUPING__CAPACITY_GROUPING_TARGET_GROUP};
    Diplan__V1__ServiceType day_care[] = {DIPLAN__V1__SERVICE_TYPE__SERVICE_TYPE_DAY_CARE_CENTRE};
    Diplan__V1__TargetGroup grt[] = {DIPLAN__V1__TARGET_GROUP__TARGET_GROUP_GRT_ADULTS};
    query.n_regions = 1;
    query.regions = latgale;
    query.n_group_by = 2;
    query.group_by = by;
    query.n_service_types = 1;
    query.service_types = day_care;
    query.n_target_groups = 1;
    query.target_groups = grt;
    Diplan__V1__QueryCapacityResponse *capacity = (Diplan__V1__QueryCapacityResponse *)call(
        client, "/diplan.v1.Plans/QueryCapacity", &query.base, &diplan__v1__query_capacity_response__descriptor, DIPLAN_OK);
    CHECK(capacity && capacity->n_groups == 1 && capacity->groups[0]->target->value == 216, "216 day-care places for adults");
    CHECK(capacity && capacity->groups[0]->reported_existing->value == 163, "163 reported by December 2021");
    protobuf_c_message_free_unpacked(&capacity->base, NULL);

    Diplan__V1__ListFacilitiesRequest facilities = DIPLAN__V1__LIST_FACILITIES_REQUEST__INIT;
    ProtobufCMessage *none = call(client, "/diplan.v1.Plans/ListFacilities", &facilities.base, &diplan__v1__list_facilities_response__descriptor, DIPLAN_OK);
    protobuf_c_message_free_unpacked(none, NULL);
    Diplan__V1__ListProjectsRequest projects = DIPLAN__V1__LIST_PROJECTS_REQUEST__INIT;
    none = call(client, "/diplan.v1.Plans/ListProjects", &projects.base, &diplan__v1__list_projects_response__descriptor, DIPLAN_OK);
    protobuf_c_message_free_unpacked(none, NULL);
    Diplan__V1__GetProjectRequest project = DIPLAN__V1__GET_PROJECT_REQUEST__INIT;
    project.project_id = "no-such-project";
    CHECK(!call(client, "/diplan.v1.Plans/GetProject", &project.base, &diplan__v1__get_project_response__descriptor, DIPLAN_NOT_FOUND), "not found");
    Diplan__V1__ListPlanEventsRequest events = DIPLAN__V1__LIST_PLAN_EVENTS_REQUEST__INIT;
    events.plan_id = "kurzeme-2017-2020";
    Diplan__V1__ListPlanEventsResponse *history = (Diplan__V1__ListPlanEventsResponse *)call(
        client, "/diplan.v1.Plans/ListPlanEvents", &events.base, &diplan__v1__list_plan_events_response__descriptor, DIPLAN_OK);
    CHECK(history && history->n_events == 6 && strcmp(history->events[2]->date, "2018-04-27") == 0, "Kurzeme's history");
    protobuf_c_message_free_unpacked(&history->base, NULL);
    CHECK(!call(client, "/diplan.v1.Plans/NoSuchMethod", &events.base, &diplan__v1__list_plan_events_response__descriptor, DIPLAN_UNIMPLEMENTED), "unknown method");
}

static Diplan__V1__LineKey ludza_key(void) {
    Diplan__V1__LineKey key = DIPLAN__V1__LINE_KEY__INIT;
    key.plan_id = "latgale-2017-2020";
    key.municipality_id = "ludza";
    key.service_type = DIPLAN__V1__SERVICE_TYPE__SERVICE_TYPE_DAY_CARE_CENTRE;
    key.target_group = DIPLAN__V1__TARGET_GROUP__TARGET_GROUP_FT_CHILDREN;
    return key;
}

static int set_ludza(diplan_client *client, const char *municipality, int expected) {
    Diplan__V1__UpsertCapacityLineRequest request = DIPLAN__V1__UPSERT_CAPACITY_LINE_REQUEST__INIT;
    Diplan__V1__CapacityLine line = DIPLAN__V1__CAPACITY_LINE__INIT;
    line.plan_id = "latgale-2017-2020";
    line.municipality_id = (char *)municipality;
    line.service_type = DIPLAN__V1__SERVICE_TYPE__SERVICE_TYPE_DAY_CARE_CENTRE;
    line.target_group = DIPLAN__V1__TARGET_GROUP__TARGET_GROUP_FT_CHILDREN;
    line.planned_known_case = DIPLAN__V1__CAPACITY_LINE__PLANNED_KNOWN_PLANNED;
    line.planned = 12;
    line.existing_known_case = DIPLAN__V1__CAPACITY_LINE__EXISTING_KNOWN_EXISTING;
    line.existing = 5;
    line.occupied_known_case = DIPLAN__V1__CAPACITY_LINE__OCCUPIED_KNOWN_OCCUPIED;
    line.occupied = 3;
    line.source = "C client test";
    request.line = &line;
    request.replace = 1;
    ProtobufCMessage *response = call(client, "/diplan.v1.Plans/UpsertCapacityLine", &request.base,
                                      &diplan__v1__upsert_capacity_line_response__descriptor, expected);
    protobuf_c_message_free_unpacked(response, NULL);
    return response != NULL;
}

/* Reports occupancy alone: the line's other figures and its source stay. */
static void report_ludza_occupancy(diplan_client *client, uint32_t occupied) {
    Diplan__V1__UpsertCapacityLineRequest request = DIPLAN__V1__UPSERT_CAPACITY_LINE_REQUEST__INIT;
    Diplan__V1__CapacityLine line = DIPLAN__V1__CAPACITY_LINE__INIT;
    Diplan__V1__LineField fields[] = {DIPLAN__V1__LINE_FIELD__LINE_FIELD_OCCUPIED};
    line.plan_id = "latgale-2017-2020";
    line.municipality_id = "ludza";
    line.service_type = DIPLAN__V1__SERVICE_TYPE__SERVICE_TYPE_DAY_CARE_CENTRE;
    line.target_group = DIPLAN__V1__TARGET_GROUP__TARGET_GROUP_FT_CHILDREN;
    line.occupied_known_case = DIPLAN__V1__CAPACITY_LINE__OCCUPIED_KNOWN_OCCUPIED;
    line.occupied = occupied;
    request.line = &line;
    request.n_fields = 1;
    request.fields = fields;
    Diplan__V1__UpsertCapacityLineResponse *response = (Diplan__V1__UpsertCapacityLineResponse *)call(
        client, "/diplan.v1.Plans/UpsertCapacityLine", &request.base, &diplan__v1__upsert_capacity_line_response__descriptor,
        DIPLAN_OK);
    CHECK(response && response->line && response->line->planned == 12 && response->line->existing == 5 &&
              response->line->occupied == occupied && strcmp(response->line->source, "C client test") == 0,
          "occupancy reported alone keeps planned, existing and the source");
    if (response) protobuf_c_message_free_unpacked(&response->base, NULL);
    /* Naming no field, and not replacing, is refused. */
    request.n_fields = 0;
    CHECK(!call(client, "/diplan.v1.Plans/UpsertCapacityLine", &request.base,
                &diplan__v1__upsert_capacity_line_response__descriptor, DIPLAN_INVALID_ARGUMENT),
          "an update naming nothing");
}

static void updates_and_holds(diplan_client *client) {
    /* Refused: Skrunda is in Kurzeme, not in the Latgale plan's region. */
    set_ludza(client, "skrunda", DIPLAN_FAILED_PRECONDITION);
    set_ludza(client, "ludza", DIPLAN_OK);
    report_ludza_occupancy(client, 4);
    set_ludza(client, "ludza", DIPLAN_OK);

    Diplan__V1__LineKey key = ludza_key();
    Diplan__V1__HoldRequest hold = DIPLAN__V1__HOLD_REQUEST__INIT;
    hold.idempotency_key = "c-test-hold-1";
    hold.referral_id = "R-C-0001";
    hold.target_case = DIPLAN__V1__HOLD_REQUEST__TARGET_LINE;
    hold.line = &key;
    hold.places = 2;
    Diplan__V1__HoldResponse *held = (Diplan__V1__HoldResponse *)call(client, "/diplan.v1.Holds/Hold", &hold.base,
                                                                     &diplan__v1__hold_response__descriptor, DIPLAN_OK);
    CHECK(held && held->free == 0, "2 of 2 free places held");
    hold.idempotency_key = "c-test-hold-2";
    hold.places = 1;
    CHECK(!call(client, "/diplan.v1.Holds/Hold", &hold.base, &diplan__v1__hold_response__descriptor, DIPLAN_FAILED_PRECONDITION), "no place left");
    if (held) {
        Diplan__V1__ReleaseRequest release = DIPLAN__V1__RELEASE_REQUEST__INIT;
        release.hold_id = held->hold->id;
        release.idempotency_key = "c-test-release-1";
        Diplan__V1__ReleaseResponse *released = (Diplan__V1__ReleaseResponse *)call(
            client, "/diplan.v1.Holds/Release", &release.base, &diplan__v1__release_response__descriptor, DIPLAN_OK);
        CHECK(released && released->hold->status == DIPLAN__V1__HOLD_STATUS__HOLD_STATUS_RELEASED, "released");
        protobuf_c_message_free_unpacked(&released->base, NULL);
        protobuf_c_message_free_unpacked(&held->base, NULL);
    }
}

/* The watch: a change made by another client on another thread arrives. */
struct watch_state {
    int started;
    int saw_change;
};

static void *change_from_another_client(void *unused) {
    (void)unused;
    usleep(100 * 1000);
    diplan_client *other = NULL;
    diplan_status status;
    if (diplan_connect(socket_path, 2000, &other, &status) == DIPLAN_OK) {
        set_ludza(other, "ludza", DIPLAN_OK);
        diplan_close(other);
    }
    return NULL;
}

static int on_watch(const ProtobufCMessage *message, uint64_t revision, void *user) {
    struct watch_state *state = user;
    const Diplan__V1__WatchResponse *response = (const Diplan__V1__WatchResponse *)message;
    (void)revision;
    if (response->event_case == DIPLAN__V1__WATCH_RESPONSE__EVENT_STARTED) state->started = 1;
    if (response->event_case == DIPLAN__V1__WATCH_RESPONSE__EVENT_CHANGE) {
        Diplan__V1__Change *change = response->change;
        for (size_t i = 0; i < change->n_mutations; i++) {
            if (change->mutations[i]->entity_case == DIPLAN__V1__MUTATION__ENTITY_LINE &&
                strcmp(change->mutations[i]->line->municipality_id, "ludza") == 0) {
                state->saw_change = 1;
                return 1; /* enough: cancel */
            }
        }
    }
    return 0;
}

static void watch(diplan_client *client) {
    Diplan__V1__WatchRequest request = DIPLAN__V1__WATCH_REQUEST__INIT;
    struct watch_state state = {0, 0};
    pthread_t writer;
    pthread_create(&writer, NULL, change_from_another_client, NULL);
    diplan_status status;
    int code = diplan_stream(client, "/diplan.v1.Watch/Watch", &request.base, &diplan__v1__watch_response__descriptor, on_watch, &state,
                             10000, &status);
    pthread_join(writer, NULL);
    CHECK(code == DIPLAN_CANCELLED, "the watch ends CANCELLED, got %s: %s", diplan_code_name(code), status.message);
    CHECK(state.started && state.saw_change, "the watch saw the other client's change");

    /* A deadline. */
    Grpc__Health__V1__HealthCheckRequest health = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    struct watch_state ignored = {0, 0};
    code = diplan_stream(client, "/grpc.health.v1.Health/Watch", &health.base, &grpc__health__v1__health_check_response__descriptor,
                         on_watch, &ignored, 200, &status);
    CHECK(code == DIPLAN_DEADLINE_EXCEEDED, "the deadline: got %s: %s", diplan_code_name(code), status.message);
}

static void over_the_limit(void) {
    /* A request bigger than the daemon's limit (the test starts it with 64 KiB): RESOURCE_EXHAUSTED. */
    diplan_client *client = NULL;
    diplan_status status;
    if (diplan_connect(socket_path, 2000, &client, &status) != DIPLAN_OK) {
        CHECK(0, "connect: %s", status.message);
        return;
    }
    enum { COUNT = 8000 };
    char **ids = calloc(COUNT, sizeof *ids);
    for (int i = 0; i < COUNT; i++) ids[i] = "some-municipality-id";
    Diplan__V1__QueryCapacityRequest query = DIPLAN__V1__QUERY_CAPACITY_REQUEST__INIT;
    query.n_municipality_ids = COUNT;
    query.municipality_ids = ids;
    CHECK(!call(client, "/diplan.v1.Plans/QueryCapacity", &query.base, &diplan__v1__query_capacity_response__descriptor,
                DIPLAN_RESOURCE_EXHAUSTED), "the daemon refuses a frame over its limit");
    /* The connection is gone after that. */
    CHECK(!call(client, "/diplan.v1.Plans/QueryCapacity", &query.base, &diplan__v1__query_capacity_response__descriptor, DIPLAN_UNAVAILABLE),
          "closed after");
    diplan_close(client);

    /* And the client refuses to send one over its own limit, before writing a byte. */
    diplan_connect(socket_path, 2000, &client, &status);
    diplan_set_max_frame(client, 1024);
    CHECK(!call(client, "/diplan.v1.Plans/QueryCapacity", &query.base, &diplan__v1__query_capacity_response__descriptor,
                DIPLAN_RESOURCE_EXHAUSTED), "the client's own limit");
    diplan_set_max_frame(client, DIPLAN_DEFAULT_MAX_FRAME);
    Diplan__V1__ListRegionsRequest regions = DIPLAN__V1__LIST_REGIONS_REQUEST__INIT;
    ProtobufCMessage *ok = call(client, "/diplan.v1.Plans/ListRegions", &regions.base, &diplan__v1__list_regions_response__descriptor, DIPLAN_OK);
    protobuf_c_message_free_unpacked(ok, NULL);
    diplan_close(client);
    free(ids);
}

static int on_vanish(const ProtobufCMessage *message, uint64_t revision, void *user) {
    (void)message;
    (void)revision;
    (void)user;
    printf("WATCHING\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET all|vanish\n", argv[0]);
        return 2;
    }
    socket_path = argv[1];
    diplan_status status;
    diplan_client *client = NULL;
    if (diplan_connect("/nonexistent/diplan.sock", 200, &client, &status) != DIPLAN_UNAVAILABLE || client) {
        fprintf(stderr, "FAIL: connecting nowhere must be UNAVAILABLE\n");
        return 1;
    }
    if (diplan_connect(socket_path, 2000, &client, &status) != DIPLAN_OK) {
        fprintf(stderr, "FAIL: connect: %s\n", status.message);
        return 1;
    }
    if (strcmp(argv[2], "vanish") == 0) {
        /* The test kills the daemon once WATCHING is printed. */
        Diplan__V1__WatchRequest request = DIPLAN__V1__WATCH_REQUEST__INIT;
        int code = diplan_stream(client, "/diplan.v1.Watch/Watch", &request.base, &diplan__v1__watch_response__descriptor, on_vanish, NULL,
                                 0, &status);
        CHECK(code == DIPLAN_UNAVAILABLE, "a daemon gone mid-call: got %s: %s", diplan_code_name(code), status.message);
        Diplan__V1__ListRegionsRequest regions = DIPLAN__V1__LIST_REGIONS_REQUEST__INIT;
        CHECK(!call(client, "/diplan.v1.Plans/ListRegions", &regions.base, &diplan__v1__list_regions_response__descriptor, DIPLAN_UNAVAILABLE),
              "and after");
    } else {
        queries(client);
        updates_and_holds(client);
        watch(client);
        over_the_limit();
    }
    diplan_close(client);
    diplan_close(NULL);
    printf("%s: %d failures\n", argv[2], failures);
    return failures == 0 ? 0 : 1;
}
