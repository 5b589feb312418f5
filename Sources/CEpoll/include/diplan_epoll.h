/*
 * epoll for the daemon's event loops. Glibc's Swift module does not export
 * <sys/epoll.h>, and its packed epoll_event is awkward in Swift, so the loop
 * calls these wrappers, which take and give the event's fields apart.
 */
#ifndef DIPLAN_EPOLL_H
#define DIPLAN_EPOLL_H

#include <stdint.h>

enum {
    DIPLAN_EPOLL_IN = 0x001,
    DIPLAN_EPOLL_OUT = 0x004,
    DIPLAN_EPOLL_ERR = 0x008,
    DIPLAN_EPOLL_HUP = 0x010,
    DIPLAN_EPOLL_ADD = 1,
    DIPLAN_EPOLL_DEL = 2,
    DIPLAN_EPOLL_MOD = 3,
};

/* epoll_create1(EPOLL_CLOEXEC); -1 with errno on failure. */
int diplan_epoll_create(void);

/* epoll_ctl with an event of `events` carrying `data`; -1 with errno on failure. */
int diplan_epoll_ctl(int epoll, int operation, int fd, uint32_t events, uint64_t data);

/* epoll_wait for at most `capacity` events: each one's data and events go to
   the same index of `data` and `events`. Returns the count, or -1 with errno. */
int diplan_epoll_wait(int epoll, uint64_t *data, uint32_t *events, int capacity, int timeout_milliseconds);

/* eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), to wake a loop from another thread; -1 with errno on failure. */
int diplan_eventfd(void);

#endif
