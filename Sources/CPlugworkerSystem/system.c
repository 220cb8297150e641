#define _GNU_SOURCE /* accept4 */
#include "CPlugworkerSystem.h"
#include <sys/prctl.h>

static _Thread_local void *current_task;
static volatile sig_atomic_t soft_limit_flag;

void *pws_current_task(void) { return current_task; }
void pws_set_current_task(void *ctx) { current_task = ctx; }

int pws_soft_limit_flag(void) { return soft_limit_flag; }
void pws_set_soft_limit_flag(int value) { soft_limit_flag = value; }

int pws_set_parent_death_signal(int sig) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL);
}

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

int pws_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int pws_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    int real = op == 1 ? EPOLL_CTL_ADD : op == 2 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    return epoll_ctl(epfd, real, fd, &ev);
}

int pws_epoll_wait(int epfd, pws_event *out, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].events = evs[i].events;
        out[i].data = evs[i].data.u64;
    }
    return n;
}

int pws_signalfd_create(const int *signals, int n) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < n; i++) sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int pws_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return 0;
    return (int)info.ssi_signo;
}

void pws_unblock_all_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
}

int pws_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

static struct timespec seconds_to_timespec(double s) {
    struct timespec ts;
    if (s < 0) s = 0;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    return ts;
}

int pws_timerfd_set(int fd, double initial, double interval) {
    struct itimerspec its;
    its.it_value = seconds_to_timespec(initial);
    if (initial > 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    its.it_interval = seconds_to_timespec(interval);
    return timerfd_settime(fd, 0, &its, NULL);
}

uint64_t pws_timerfd_read(int fd) {
    uint64_t count = 0;
    if (read(fd, &count, sizeof count) != (ssize_t)sizeof count) return 0;
    return count;
}

long pws_send_with_fd(int sock, const void *data, unsigned long len, int fd) {
    struct iovec iov = {(void *)data, len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return (long)n;
}

long pws_recv_with_fd(int sock, void *data, unsigned long cap, int *fd) {
    struct iovec iov = {data, cap};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    *fd = -1;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n > 0) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof(int));
        }
    }
    return (long)n;
}

/* ---- Pool processes ---- */
#include <sys/time.h>

static void soft_limit_handler(int sig) {
    (void)sig;
    soft_limit_flag = 1;
}

int pws_install_soft_limit_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = soft_limit_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0) return -1;
    return sigaction(SIGUSR1, &sa, NULL);
}

int pws_arm_soft_limit_timer(double seconds) {
    struct itimerval it;
    memset(&it, 0, sizeof it);
    if (seconds > 0) {
        it.it_value.tv_sec = (time_t)seconds;
        it.it_value.tv_usec = (suseconds_t)((seconds - (double)it.it_value.tv_sec) * 1e6);
        if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
    }
    return setitimer(ITIMER_REAL, &it, NULL);
}

#include <sys/socket.h>

int pws_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
#include <sys/inotify.h>

_Static_assert(PWS_IN_CLOSE_WRITE == IN_CLOSE_WRITE && PWS_IN_MOVED_TO == IN_MOVED_TO &&
               PWS_IN_CREATE == IN_CREATE && PWS_IN_DELETE == IN_DELETE &&
               PWS_IN_MOVED_FROM == IN_MOVED_FROM && PWS_IN_Q_OVERFLOW == IN_Q_OVERFLOW &&
               PWS_IN_IGNORED == IN_IGNORED && PWS_IN_MODIFY == IN_MODIFY &&
               PWS_IN_DELETE_SELF == IN_DELETE_SELF && PWS_IN_MOVE_SELF == IN_MOVE_SELF &&
               PWS_IN_ONLYDIR == IN_ONLYDIR && PWS_IN_ISDIR == IN_ISDIR,
               "PWS_IN_* differ from <sys/inotify.h>");
_Static_assert(PWS_INOTIFY_EVENT_SIZE == sizeof(struct inotify_event), "inotify_event size");

int pws_inotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }

int pws_inotify_add_watch(int fd, const char *path, uint32_t mask) { return inotify_add_watch(fd, path, mask); }

int pws_inotify_rm_watch(int fd, int wd) { return inotify_rm_watch(fd, wd); }
