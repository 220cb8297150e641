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
