/*
 * The floor of diplan's benchmark: a bare echo server in C, with epoll, on a
 * Unix socket, speaking diplan's framing (a 0 flag byte, a 4-byte big-endian
 * length, the message). Each whole frame that arrives is sent back as it came;
 * no protobuf, no state. Whatever diplan does per call on top of this is what
 * diplan costs.
 *
 *   cc -O2 -o echo-floor bench/echo-floor.c && ./echo-floor /tmp/echo.sock
 *
 * With a second argument, POLL_US, it polls as diplan does (`--busy-poll-us`):
 * when its last epoll_wait found calls within POLL_US microseconds, the next
 * one polls that long before it sleeps. That pair shows what polling does for
 * the transport alone.
 *
 *   ./echo-floor /tmp/echo-polling.sock 50
 *
 * It runs until SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (4u * 1024u * 1024u)
#define READ_CHUNK (64 * 1024)

struct connection {
    int fd;
    unsigned char *buffer; /* bytes read and not yet echoed */
    size_t used, capacity;
};

static volatile sig_atomic_t stopping;

static void on_signal(int signal_number) {
    (void)signal_number;
    stopping = 1;
}

static int write_all(int fd, const unsigned char *bytes, size_t count) {
    while (count > 0) {
        ssize_t written = write(fd, bytes, count);
        if (written < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                /* The client does not read: wait until it does (a floor need not be clever). */
                struct epoll_event event = {.events = EPOLLOUT};
                int waiter = epoll_create1(EPOLL_CLOEXEC);
                epoll_ctl(waiter, EPOLL_CTL_ADD, fd, &event);
                epoll_wait(waiter, &event, 1, 1000);
                close(waiter);
                continue;
            }
            return -1;
        }
        bytes += written;
        count -= (size_t)written;
    }
    return 0;
}

/* Reads what is there and echoes every whole frame; -1 when the connection ends. */
static int serve(struct connection *connection) {
    for (;;) {
        if (connection->capacity - connection->used < READ_CHUNK) {
            size_t capacity = connection->capacity * 2 + READ_CHUNK;
            unsigned char *grown = realloc(connection->buffer, capacity);
            if (!grown) return -1;
            connection->buffer = grown;
            connection->capacity = capacity;
        }
        size_t asked = connection->capacity - connection->used;
        ssize_t count = read(connection->fd, connection->buffer + connection->used, asked);
        if (count == 0) return -1;
        if (count < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            return -1;
        }
        connection->used += (size_t)count;
        size_t whole = 0;
        while (connection->used - whole >= 5) {
            const unsigned char *prefix = connection->buffer + whole;
            if (prefix[0] != 0) return -1;
            uint32_t length = (uint32_t)prefix[1] << 24 | (uint32_t)prefix[2] << 16 | (uint32_t)prefix[3] << 8 | prefix[4];
            if (length > MAX_FRAME) return -1;
            if (connection->used - whole < 5 + (size_t)length) break;
            whole += 5 + (size_t)length;
        }
        if (whole > 0) {
            if (write_all(connection->fd, connection->buffer, whole) < 0) return -1;
            memmove(connection->buffer, connection->buffer + whole, connection->used - whole);
            connection->used -= whole;
        }
        /* A short read drained the socket; level-triggered epoll says when more comes. */
        if ((size_t)count < asked) return 0;
    }
}

static long long microseconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s SOCKET [POLL_US]\n", argv[0]);
        return 2;
    }
    long long window = argc == 3 ? atoll(argv[2]) : 0;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof address.sun_path) {
        fprintf(stderr, "echo-floor: socket path too long\n");
        return 2;
    }
    strcpy(address.sun_path, argv[1]);
    unlink(argv[1]);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 512) < 0) {
        perror("echo-floor: listen");
        return 1;
    }
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    int poller = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event events[256];
    int polling = 0;
    while (!stopping) {
        int ready = 0;
        if (polling) {
            long long start = microseconds_now();
            do ready = epoll_wait(poller, events, 256, 0);
            while (ready == 0 && microseconds_now() - start < window);
        }
        if (ready == 0) {
            long long start = microseconds_now();
            ready = epoll_wait(poller, events, 256, 200);
            polling = ready > 0 && microseconds_now() - start < window;
        }
        for (int index = 0; index < ready; index++) {
            struct connection *connection = events[index].data.ptr;
            if (connection == NULL) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    connection = calloc(1, sizeof *connection);
                    if (!connection) {
                        close(fd);
                        continue;
                    }
                    connection->fd = fd;
                    struct epoll_event added = {.events = EPOLLIN, .data.ptr = connection};
                    epoll_ctl(poller, EPOLL_CTL_ADD, fd, &added);
                }
                continue;
            }
            if (serve(connection) < 0) {
                epoll_ctl(poller, EPOLL_CTL_DEL, connection->fd, NULL);
                close(connection->fd);
                free(connection->buffer);
                free(connection);
            }
        }
    }
    unlink(argv[1]);
    return 0;
}
