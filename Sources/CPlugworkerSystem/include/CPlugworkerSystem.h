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
#endif
