/* See FrontierProcess.h. prctl(2) is variadic, which Swift cannot call directly. */
#include "FrontierProcess.h"

#if defined(__linux__)
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#endif

int fk_die_with_parent(int expected_parent) {
#if defined(__linux__)
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -2;
    return getppid() == (pid_t)expected_parent ? 0 : -1;
#else
    (void)expected_parent;
    return -2;
#endif
}
