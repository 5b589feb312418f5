/*
 * diplan-c-example: what a municipal social service does with diplan.
 *
 * Finds free day-care places for children with functional disorders near a
 * municipality (the municipality's own first, then the rest of its region,
 * nearest first), holds one for an opaque referral id, and prints what it did.
 *
 *   diplan-c-example SOCKET MUNICIPALITY REFERRAL_ID
 *   diplan-c-example /run/diplan/diplan.sock ludza R-2024-0042
 *
 * Build: make c-example (or see the cc line in README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diplan_client.h"
#include "diplan/v1/holds.pb-c.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s SOCKET MUNICIPALITY REFERRAL_ID\n", argv[0]);
        return 2;
    }
    const char *socket_path = argv[1], *near = argv[2], *referral = argv[3];
    diplan_status status;
    diplan_client *client = NULL;
    if (diplan_connect(socket_path, 2000, &client, &status) != DIPLAN_OK) {
        fprintf(stderr, "cannot reach diplan: %s: %s\n", diplan_code_name(status.code), status.message);
        return 1;
    }

    /* 1. Where are free day-care places for FT children, nearest first? */
    Diplan__V1__FindFreePlacesRequest find = DIPLAN__V1__FIND_FREE_PLACES_REQUEST__INIT;
    Diplan__V1__ServiceType services[] = {DIPLAN__V1__SERVICE_TYPE__SERVICE_TYPE_DAY_CARE_CENTRE};
    Diplan__V1__TargetGroup groups[] = {DIPLAN__V1__TARGET_GROUP__TARGET_GROUP_FT_CHILDREN};
    find.n_service_types = 1;
    find.service_types = services;
    find.n_target_groups = 1;
    find.target_groups = groups;
    find.near_municipality_id = (char *)near;
    find.limit = 5;
    ProtobufCMessage *answer = NULL;
    uint64_t revision = 0;
    int code = diplan_call(client, "/diplan.v1.Holds/FindFreePlaces", &find.base, &diplan__v1__find_free_places_response__descriptor,
                           &answer, &revision, 2000, &status);
    if (code != DIPLAN_OK) {
        fprintf(stderr, "FindFreePlaces failed: %s: %s\n", diplan_code_name(code), status.message);
        diplan_close(client);
        return 1;
    }
    Diplan__V1__FindFreePlacesResponse *found = (Diplan__V1__FindFreePlacesResponse *)answer;
    printf("free day-care places for children with functional disorders near %s (revision %llu):\n", near,
           (unsigned long long)revision);
    for (size_t i = 0; i < found->n_candidates; i++) {
        Diplan__V1__FreePlaces *candidate = found->candidates[i];
        if (candidate->distance_known_case == DIPLAN__V1__FREE_PLACES__DISTANCE_KNOWN_DISTANCE_KM) {
            printf("  %-16s %3u free  %5.0f km\n", candidate->line->municipality_id, candidate->free, candidate->distance_km);
        } else {
            printf("  %-16s %3u free  ? km\n", candidate->line->municipality_id, candidate->free);
        }
    }
    if (found->n_candidates == 0) {
        printf("  none: no line has free places on record\n");
        protobuf_c_message_free_unpacked(answer, NULL);
        diplan_close(client);
        return 3;
    }

    /* 2. Hold one place on the nearest, for the referral, with a key that makes a retry safe. */
    Diplan__V1__LineKey key = DIPLAN__V1__LINE_KEY__INIT;
    Diplan__V1__CapacityLine *line = found->candidates[0]->line;
    key.plan_id = line->plan_id;
    key.municipality_id = line->municipality_id;
    key.service_type = line->service_type;
    key.target_group = line->target_group;
    char idempotency_key[64];
    snprintf(idempotency_key, sizeof idempotency_key, "example-%s-%ld", referral, (long)time(NULL));
    Diplan__V1__HoldRequest hold = DIPLAN__V1__HOLD_REQUEST__INIT;
    hold.idempotency_key = idempotency_key;
    hold.referral_id = (char *)referral;
    hold.target_case = DIPLAN__V1__HOLD_REQUEST__TARGET_LINE;
    hold.line = &key;
    hold.places = 1;
    ProtobufCMessage *held = NULL;
    code = diplan_call(client, "/diplan.v1.Holds/Hold", &hold.base, &diplan__v1__hold_response__descriptor, &held, &revision, 2000,
                       &status);
    if (code == DIPLAN_OK) {
        Diplan__V1__HoldResponse *response = (Diplan__V1__HoldResponse *)held;
        printf("held 1 place in %s as hold %s for referral %s; %u free after it; revision %llu\n", line->municipality_id,
               response->hold->id, referral, response->free, (unsigned long long)revision);
        protobuf_c_message_free_unpacked(held, NULL);
    } else {
        printf("could not hold a place in %s: %s: %s\n", line->municipality_id, diplan_code_name(code), status.message);
    }
    protobuf_c_message_free_unpacked(answer, NULL);
    diplan_close(client);
    return code == DIPLAN_OK ? 0 : 1;
}
