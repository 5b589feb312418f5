/*
 * diplan_client.h — talk to the diplan daemon from C, on libprotobuf-c.
 *
 * The daemon speaks gRPC's framing and status codes over a Unix stream
 * socket: each message is a 1-byte flag (0), a 4-byte big-endian length and a
 * protobuf message (diplan.rpc.v1.RequestFrame / ResponseFrame, which carry
 * the method's own request and response). This library owns all of that:
 * framing, the size limit (checked before anything is allocated), call ids,
 * partial reads and writes, EINTR and timeouts. Every failure comes back as a
 * gRPC status code with a message; nothing aborts.
 *
 * Messages are the protoc-c generated types of proto/ (diplan/v1/plans.pb-c.h
 * and the others, shipped beside this header): pass a request built with its
 * __init(), a response descriptor such as &diplan__v1__get_plan_response__descriptor,
 * and free the response with protobuf_c_message_free_unpacked(response, NULL).
 *
 * Thread safety: a connection carries one call at a time and belongs to one
 * thread at a time. Use one connection per thread; connections are cheap.
 *
 * Build: cc app.c diplan_client.c (and every generated .pb-c.c) -Iinclude -Igenerated \
 *        $(pkg-config --cflags --libs libprotobuf-c)
 */
#ifndef DIPLAN_CLIENT_H
#define DIPLAN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC's status codes. */
enum diplan_code {
    DIPLAN_OK = 0,
    DIPLAN_CANCELLED = 1,
    DIPLAN_UNKNOWN = 2,
    DIPLAN_INVALID_ARGUMENT = 3,
    DIPLAN_DEADLINE_EXCEEDED = 4,
    DIPLAN_NOT_FOUND = 5,
    DIPLAN_ALREADY_EXISTS = 6,
    DIPLAN_PERMISSION_DENIED = 7,
    DIPLAN_RESOURCE_EXHAUSTED = 8,
    DIPLAN_FAILED_PRECONDITION = 9,
    DIPLAN_ABORTED = 10,
    DIPLAN_OUT_OF_RANGE = 11,
    DIPLAN_UNIMPLEMENTED = 12,
    DIPLAN_INTERNAL = 13,
    DIPLAN_UNAVAILABLE = 14,
    DIPLAN_DATA_LOSS = 15,
    DIPLAN_UNAUTHENTICATED = 16
};

/* How a call ended: the code and the daemon's (or this library's) message. */
typedef struct diplan_status {
    int code;
    char message[512];
} diplan_status;

/* One connection to the daemon. */
typedef struct diplan_client diplan_client;

/* The default frame size limit, as the daemon's: 4 MiB. */
#define DIPLAN_DEFAULT_MAX_FRAME (4u * 1024u * 1024u)

/* Connects to the daemon's socket within timeout_ms (0: 5000). On success
 * *out is the connection (close it with diplan_close) and DIPLAN_OK is
 * returned; otherwise *out is NULL and the code (UNAVAILABLE, INVALID_ARGUMENT
 * for a path too long, RESOURCE_EXHAUSTED for no memory) is returned and
 * described in *status (which may be NULL). */
int diplan_connect(const char *socket_path, int timeout_ms, diplan_client **out, diplan_status *status);

/* Sets the largest frame the connection sends or accepts (default 4 MiB). */
void diplan_set_max_frame(diplan_client *client, uint32_t bytes);

/* One unary call, e.g. method "/diplan.v1.Plans/QueryCapacity". timeout_ms
 * (0: none) is sent to the daemon as the call's deadline and also bounds the
 * wait here. On DIPLAN_OK *response is the unpacked answer (free it with
 * protobuf_c_message_free_unpacked(*response, NULL)) and *revision (may be
 * NULL) the state revision it reflects; on any other code *response is NULL.
 * After UNAVAILABLE, INTERNAL or RESOURCE_EXHAUSTED from the connection
 * itself, the connection is closed: make a new one. */
int diplan_call(diplan_client *client, const char *method, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *response_descriptor, ProtobufCMessage **response,
                uint64_t *revision, int timeout_ms, diplan_status *status);

/* Called for each message of a stream; the message is freed after the
 * callback returns. Return 0 to go on, anything else to cancel the call (the
 * stream then ends with DIPLAN_CANCELLED). */
typedef int (*diplan_stream_callback)(const ProtobufCMessage *message, uint64_t revision, void *user);

/* A server-streaming call (e.g. "/diplan.v1.Watch/Watch"): calls callback
 * for each message until the stream ends, and returns its final code. */
int diplan_stream(diplan_client *client, const char *method, const ProtobufCMessage *request,
                  const ProtobufCMessageDescriptor *message_descriptor, diplan_stream_callback callback,
                  void *user, int timeout_ms, diplan_status *status);

/* Closes the connection and frees it. NULL is allowed. */
void diplan_close(diplan_client *client);

/* "OK", "NOT_FOUND", …; "UNKNOWN_CODE" for a number gRPC does not define. */
const char *diplan_code_name(int code);

#ifdef __cplusplus
}
#endif

#endif
