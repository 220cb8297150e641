/* Small C shims for what Swift cannot express or reach on Linux.
 * Each function is a thin wrapper; the Swift side owns the logic. */
#ifndef PLUGWORKER_SYSTEM_H
#define PLUGWORKER_SYSTEM_H
#include <signal.h>
#include <stdint.h>

/* The task context of the task running on this thread (NULL outside a
 * task). A C thread-local: Swift has no cheap equivalent outside async. */
void *pws_current_task(void);
void pws_set_current_task(void *ctx);

/* Set from a signal handler when the running task's soft time limit passes;
 * read by the task through its context. sig_atomic_t, so signal-safe. */
int pws_soft_limit_flag(void);
void pws_set_soft_limit_flag(int value);

/* prctl(PR_SET_PDEATHSIG, sig): prctl is variadic. Returns prctl's result. */
int pws_set_parent_death_signal(int sig);

/* ---- epoll, signalfd, timerfd (the Glibc module does not export them) ---- */

/* Readiness bits, as epoll's. */
enum { PWS_IN = 0x001, PWS_OUT = 0x004, PWS_ERR = 0x008, PWS_HUP = 0x010 };

typedef struct pws_event {
    uint32_t events;
    uint64_t data;
} pws_event;

/* epoll_create1(EPOLL_CLOEXEC). */
int pws_epoll_create(void);
/* Adds (op 1), modifies (2) or removes (3) `fd`, with `events` and `data`. */
int pws_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/* epoll_wait into `out`; returns the count, 0 on timeout, -1 with errno. */
int pws_epoll_wait(int epfd, pws_event *out, int max, int timeout_ms);

/* Blocks `signals` (count `n`) for the calling thread and returns a
 * non-blocking, close-on-exec signalfd for them, or -1. */
int pws_signalfd_create(const int *signals, int n);
/* Reads one pending signal: its number, or 0 when none is pending. */
int pws_signalfd_read(int fd);
/* Unblocks every signal (for a forked child). */
void pws_unblock_all_signals(void);

/* A non-blocking, close-on-exec CLOCK_MONOTONIC timerfd, or -1. */
int pws_timerfd_create(void);
/* Arms it: first expiry after `initial` seconds, then every `interval`
 * seconds (0 = once). initial 0 disarms. */
int pws_timerfd_set(int fd, double initial, double interval);
/* Reads the expiry count (0 if none). */
uint64_t pws_timerfd_read(int fd);

/* ---- Passing file descriptors over UNIX sockets ---- */

/* sendmsg of `len` bytes with `fd` attached (fd < 0: none). Returns bytes
 * sent or -1. */
long pws_send_with_fd(int sock, const void *data, unsigned long len, int fd);
/* recvmsg into `data`; *fd receives an attached descriptor or -1. Returns
 * bytes read (0 at EOF) or -1. */
long pws_recv_with_fd(int sock, void *data, unsigned long cap, int *fd);

/* ---- Pool processes (added for PlugworkerPool) ---- */

/* Installs an async-signal-safe handler for SIGALRM and SIGUSR1 that only
 * sets the soft-time-limit flag (pws_set_soft_limit_flag(1)); SA_RESTART, so
 * system calls a task is in are restarted. SIGALRM comes from the timer
 * below, SIGUSR1 from a master that signals the limit itself, as billiard's
 * does. Returns 0, or -1 with errno. */
int pws_install_soft_limit_handler(void);
/* Arms ITIMER_REAL (SIGALRM) to fire once after `seconds`; 0 disarms.
 * Returns setitimer's result. */
int pws_arm_soft_limit_timer(double seconds);

/* ---- Sockets (added for the metrics endpoint) ---- */

/* accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) (a GNU extension
 * the Glibc module does not export). Returns the new descriptor, or -1
 * with errno. */
int pws_accept_nonblocking(int fd);
/* ---- inotify (hot plugins) ---- */

/* Event bits, as inotify's (sys/inotify.h is not in the Glibc module). */
enum {
    PWS_IN_MODIFY = 0x002, PWS_IN_CLOSE_WRITE = 0x008, PWS_IN_MOVED_FROM = 0x040,
    PWS_IN_MOVED_TO = 0x080, PWS_IN_CREATE = 0x100, PWS_IN_DELETE = 0x200,
    PWS_IN_DELETE_SELF = 0x400, PWS_IN_MOVE_SELF = 0x800, PWS_IN_Q_OVERFLOW = 0x4000,
    PWS_IN_IGNORED = 0x8000, PWS_IN_ONLYDIR = 0x01000000, PWS_IN_ISDIR = 0x40000000
};
/* The fixed part of a `struct inotify_event` (wd, mask, cookie, len), in
 * bytes; the NUL-padded name of `len` bytes follows. */
enum { PWS_INOTIFY_EVENT_SIZE = 16 };
/* inotify_init1(IN_NONBLOCK | IN_CLOEXEC): the descriptor, or -1. */
int pws_inotify_init(void);
/* inotify_add_watch: the watch descriptor, or -1 with errno. */
int pws_inotify_add_watch(int fd, const char *path, uint32_t mask);
/* inotify_rm_watch: 0, or -1 with errno. */
int pws_inotify_rm_watch(int fd, int wd);
#endif
