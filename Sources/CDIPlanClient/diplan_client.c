/* The diplan C client: framing, calls and streams over a Unix socket. */
#define _GNU_SOURCE
#include "diplan_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "diplan/rpc/v1/rpc.pb-c.h"

struct diplan_client {
    int fd;
    uint64_t next_call_id;
    uint32_t max_frame;
};

/* How long past its own deadline a call waits for the daemon's DEADLINE_EXCEEDED. */
#define GRACE_MS 1000

static int fail(diplan_status *status, int code, const char *format, ...) {
    if (status) {
        va_list args;
        va_start(args, format);
        status->code = code;
        vsnprintf(status->message, sizeof status->message, format, args);
        va_end(args);
    }
    return code;
}

static int64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

const char *diplan_code_name(int code) {
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    return code >= 0 && code <= 16 ? names[code] : "UNKNOWN_CODE";
}

int diplan_connect(const char *socket_path, int timeout_ms, diplan_client **out, diplan_status *status) {
    *out = NULL;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (!socket_path || strlen(socket_path) >= sizeof address.sun_path) {
        return fail(status, DIPLAN_INVALID_ARGUMENT, "socket path is missing or longer than %zu bytes", sizeof address.sun_path - 1);
    }
    strcpy(address.sun_path, socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return fail(status, DIPLAN_UNAVAILABLE, "socket: %s", strerror(errno));
    /* A Unix socket never connects in the background: EAGAIN says the daemon's backlog
       is full and the socket is not connected. Try again, every millisecond, until the timeout. */
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
    int error;
    for (;;) {
        error = connect(fd, (struct sockaddr *)&address, sizeof address) == 0 ? 0 : errno;
        if (error != EAGAIN && error != EINTR) break;
        if (now_ms() >= deadline) break;
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&pause, NULL);
    }
    if (error != 0) {
        close(fd);
        return fail(status, DIPLAN_UNAVAILABLE, "cannot connect to %s: %s", socket_path,
                    error == EAGAIN ? "timed out (its backlog stayed full)" : strerror(error));
    }
    diplan_client *client = calloc(1, sizeof *client);
    if (!client) {
        close(fd);
        return fail(status, DIPLAN_RESOURCE_EXHAUSTED, "out of memory");
    }
    client->fd = fd;
    client->next_call_id = 1;
    client->max_frame = DIPLAN_DEFAULT_MAX_FRAME;
    *out = client;
    return fail(status, DIPLAN_OK, "");
}

void diplan_set_max_frame(diplan_client *client, uint32_t bytes) {
    if (client) client->max_frame = bytes;
}

void diplan_close(diplan_client *client) {
    if (!client) return;
    if (client->fd >= 0) close(client->fd);
    free(client);
}

static void broken(diplan_client *client) {
    if (client->fd >= 0) close(client->fd);
    client->fd = -1;
}

/* Waits until fd is ready for `events` or the deadline (-1: none) passes. */
static int wait_ready(int fd, short events, int64_t deadline) {
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0) return 0;
            timeout = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd ready = {.fd = fd, .events = events};
        int polled = poll(&ready, 1, timeout);
        if (polled > 0) return 1;
        if (polled == 0) return 0;
        if (errno != EINTR) return -1;
    }
}

/* Writes all of bytes; DIPLAN_OK or the failure. */
static int write_all(diplan_client *client, const uint8_t *bytes, size_t count, int64_t deadline, diplan_status *status) {
    size_t done = 0;
    while (done < count) {
        ssize_t written = send(client->fd, bytes + done, count - done, MSG_NOSIGNAL);
        if (written > 0) {
            done += (size_t)written;
            continue;
        }
        if (written < 0 && errno == EINTR) continue;
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_ready(client->fd, POLLOUT, deadline);
            if (ready > 0) continue;
            broken(client);
            return ready == 0 ? fail(status, DIPLAN_DEADLINE_EXCEEDED, "the daemon did not take the request in time")
                              : fail(status, DIPLAN_UNAVAILABLE, "writing to the daemon: %s", strerror(errno));
        }
        int error = errno;
        broken(client);
        return fail(status, DIPLAN_UNAVAILABLE, "the daemon went away: %s", strerror(error));
    }
    return DIPLAN_OK;
}

/* Reads exactly count bytes. */
static int read_exact(diplan_client *client, uint8_t *bytes, size_t count, int64_t deadline, diplan_status *status) {
    size_t done = 0;
    while (done < count) {
        ssize_t got = recv(client->fd, bytes + done, count - done, 0);
        if (got > 0) {
            done += (size_t)got;
            continue;
        }
        if (got == 0) {
            broken(client);
            return fail(status, DIPLAN_UNAVAILABLE, "the daemon closed the connection");
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = wait_ready(client->fd, POLLIN, deadline);
            if (ready > 0) continue;
            broken(client);
            return ready == 0 ? fail(status, DIPLAN_DEADLINE_EXCEEDED, "the daemon did not answer in time")
                              : fail(status, DIPLAN_UNAVAILABLE, "reading from the daemon: %s", strerror(errno));
        }
        int error = errno;
        broken(client);
        return fail(status, DIPLAN_UNAVAILABLE, "reading from the daemon: %s", strerror(error));
    }
    return DIPLAN_OK;
}

/* Reads one frame; on DIPLAN_OK *frame is unpacked (free it with
 * diplan__rpc__v1__response_frame__free_unpacked). The length is checked
 * against the limit before the body is allocated. */
static int read_frame(diplan_client *client, int64_t deadline, Diplan__Rpc__V1__ResponseFrame **frame, diplan_status *status) {
    uint8_t prefix[5];
    int code = read_exact(client, prefix, sizeof prefix, deadline, status);
    if (code != DIPLAN_OK) return code;
    uint32_t length = (uint32_t)prefix[1] << 24 | (uint32_t)prefix[2] << 16 | (uint32_t)prefix[3] << 8 | prefix[4];
    if (prefix[0] != 0) {
        broken(client);
        return fail(status, DIPLAN_INTERNAL, "the daemon sent a frame with flag %u", prefix[0]);
    }
    if (length > client->max_frame) {
        broken(client);
        return fail(status, DIPLAN_RESOURCE_EXHAUSTED, "the daemon sent a frame of %u bytes, over the limit of %u", length, client->max_frame);
    }
    uint8_t *body = malloc(length ? length : 1);
    if (!body) {
        broken(client);
        return fail(status, DIPLAN_RESOURCE_EXHAUSTED, "out of memory for a frame of %u bytes", length);
    }
    code = read_exact(client, body, length, deadline, status);
    if (code == DIPLAN_OK) {
        *frame = diplan__rpc__v1__response_frame__unpack(NULL, length, body);
        if (!*frame) {
            broken(client);
            code = fail(status, DIPLAN_INTERNAL, "the daemon sent a frame that does not parse");
        }
    }
    free(body);
    return code;
}

/* Frames and sends one RequestFrame. */
static int send_request(diplan_client *client, Diplan__Rpc__V1__RequestFrame *request, int64_t deadline, diplan_status *status) {
    size_t length = diplan__rpc__v1__request_frame__get_packed_size(request);
    if (length > client->max_frame) {
        return fail(status, DIPLAN_RESOURCE_EXHAUSTED, "the request is %zu bytes, over the frame limit of %u", length, client->max_frame);
    }
    uint8_t *bytes = malloc(length + 5);
    if (!bytes) return fail(status, DIPLAN_RESOURCE_EXHAUSTED, "out of memory for a request of %zu bytes", length);
    bytes[0] = 0;
    bytes[1] = (uint8_t)(length >> 24);
    bytes[2] = (uint8_t)(length >> 16);
    bytes[3] = (uint8_t)(length >> 8);
    bytes[4] = (uint8_t)length;
    diplan__rpc__v1__request_frame__pack(request, bytes + 5);
    int code = write_all(client, bytes, length + 5, deadline, status);
    free(bytes);
    return code;
}

static int start_call(diplan_client *client, const char *method, const ProtobufCMessage *message, int timeout_ms,
                      uint64_t *call_id, int64_t *deadline, diplan_status *status) {
    if (!client || client->fd < 0) return fail(status, DIPLAN_UNAVAILABLE, "the connection is closed");
    if (!method || !message) return fail(status, DIPLAN_INVALID_ARGUMENT, "a method and a request are required");
    size_t length = protobuf_c_message_get_packed_size(message);
    if (length > client->max_frame) {
        return fail(status, DIPLAN_RESOURCE_EXHAUSTED, "the request is %zu bytes, over the frame limit of %u", length, client->max_frame);
    }
    uint8_t *payload = malloc(length ? length : 1);
    if (!payload) return fail(status, DIPLAN_RESOURCE_EXHAUSTED, "out of memory for a request of %zu bytes", length);
    protobuf_c_message_pack(message, payload);
    Diplan__Rpc__V1__RequestFrame frame = DIPLAN__RPC__V1__REQUEST_FRAME__INIT;
    frame.call_id = client->next_call_id++;
    frame.method = (char *)method;
    frame.payload.data = payload;
    frame.payload.len = length;
    frame.timeout_ms = timeout_ms > 0 ? (uint32_t)timeout_ms : 0;
    frame.kind = DIPLAN__RPC__V1__FRAME_KIND__FRAME_KIND_CALL;
    *call_id = frame.call_id;
    *deadline = timeout_ms > 0 ? now_ms() + timeout_ms + GRACE_MS : -1;
    int code = send_request(client, &frame, *deadline, status);
    free(payload);
    return code;
}

/* The status of a final frame. */
static int frame_status(const Diplan__Rpc__V1__ResponseFrame *frame, diplan_status *status) {
    if (!frame->status || frame->status->code == 0) return fail(status, DIPLAN_OK, "");
    return fail(status, frame->status->code, "%s", frame->status->message ? frame->status->message : "");
}

int diplan_call(diplan_client *client, const char *method, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *response_descriptor, ProtobufCMessage **response, uint64_t *revision,
                int timeout_ms, diplan_status *status) {
    if (response) *response = NULL;
    if (!response || !response_descriptor) return fail(status, DIPLAN_INVALID_ARGUMENT, "a response descriptor and pointer are required");
    uint64_t call_id;
    int64_t deadline;
    int code = start_call(client, method, request, timeout_ms, &call_id, &deadline, status);
    if (code != DIPLAN_OK) return code;
    for (;;) {
        Diplan__Rpc__V1__ResponseFrame *frame = NULL;
        code = read_frame(client, deadline, &frame, status);
        if (code != DIPLAN_OK) return code;
        if (frame->call_id == 0 && frame->status && frame->status->code != 0) {
            /* The connection itself failed (a frame over the daemon's limit, …): it is closed. */
            code = frame_status(frame, status);
            diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
            broken(client);
            return code;
        }
        if (frame->call_id != call_id || !frame->end_of_stream) {
            /* An answer to a call given up on, or a ping's: not ours. */
            diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
            continue;
        }
        code = frame_status(frame, status);
        if (code == DIPLAN_OK) {
            *response = protobuf_c_message_unpack(response_descriptor, NULL, frame->payload.len, frame->payload.data);
            if (!*response) code = fail(status, DIPLAN_INTERNAL, "the answer is not a %s", response_descriptor->name);
            else if (revision) *revision = frame->revision;
        }
        diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
        return code;
    }
}

int diplan_stream(diplan_client *client, const char *method, const ProtobufCMessage *request,
                  const ProtobufCMessageDescriptor *message_descriptor, diplan_stream_callback callback, void *user,
                  int timeout_ms, diplan_status *status) {
    if (!message_descriptor || !callback) return fail(status, DIPLAN_INVALID_ARGUMENT, "a message descriptor and a callback are required");
    uint64_t call_id;
    int64_t deadline;
    int code = start_call(client, method, request, timeout_ms, &call_id, &deadline, status);
    if (code != DIPLAN_OK) return code;
    int cancelled = 0;
    for (;;) {
        Diplan__Rpc__V1__ResponseFrame *frame = NULL;
        code = read_frame(client, deadline, &frame, status);
        if (code != DIPLAN_OK) return code;
        if (frame->call_id == 0 && frame->status && frame->status->code != 0) {
            code = frame_status(frame, status);
            diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
            broken(client);
            return code;
        }
        if (frame->call_id != call_id) {
            diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
            continue;
        }
        if (frame->end_of_stream) {
            code = frame_status(frame, status);
            diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
            return code;
        }
        if (!cancelled) {
            ProtobufCMessage *message = protobuf_c_message_unpack(message_descriptor, NULL, frame->payload.len, frame->payload.data);
            if (!message) {
                diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
                broken(client);
                return fail(status, DIPLAN_INTERNAL, "a stream message is not a %s", message_descriptor->name);
            }
            int stop = callback(message, frame->revision, user);
            protobuf_c_message_free_unpacked(message, NULL);
            if (stop) {
                /* Ask the daemon to end the call; its CANCELLED ends the loop. */
                Diplan__Rpc__V1__RequestFrame cancel = DIPLAN__RPC__V1__REQUEST_FRAME__INIT;
                cancel.call_id = call_id;
                cancel.kind = DIPLAN__RPC__V1__FRAME_KIND__FRAME_KIND_CANCEL;
                cancelled = 1;
                int sent = send_request(client, &cancel, deadline, status);
                if (sent != DIPLAN_OK) {
                    diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
                    return sent;
                }
            }
        }
        diplan__rpc__v1__response_frame__free_unpacked(frame, NULL);
    }
}
