#include "diplan_epoll.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

_Static_assert(DIPLAN_EPOLL_IN == EPOLLIN && DIPLAN_EPOLL_OUT == EPOLLOUT, "epoll flags");
_Static_assert(DIPLAN_EPOLL_ERR == EPOLLERR && DIPLAN_EPOLL_HUP == EPOLLHUP, "epoll flags");
_Static_assert(DIPLAN_EPOLL_ADD == EPOLL_CTL_ADD && DIPLAN_EPOLL_DEL == EPOLL_CTL_DEL, "epoll operations");
_Static_assert(DIPLAN_EPOLL_MOD == EPOLL_CTL_MOD, "epoll operations");

int diplan_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int diplan_epoll_ctl(int epoll, int operation, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event = {.events = events, .data.u64 = data};
    return epoll_ctl(epoll, operation, fd, &event);
}

int diplan_epoll_wait(int epoll, uint64_t *data, uint32_t *events, int capacity, int timeout_milliseconds) {
    struct epoll_event ready[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epoll, ready, capacity, timeout_milliseconds);
    for (int index = 0; index < count; index++) {
        data[index] = ready[index].data.u64;
        events[index] = ready[index].events;
    }
    return count;
}

int diplan_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
